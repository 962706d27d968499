using System.Buffers;
using System.Text;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Tests.Support;

/// <summary>Both ends of one connection, each with its frame reader, to check that frames still cross both ways.</summary>
internal sealed class Link : IAsyncDisposable
{
    private readonly FrameReader _clientReader;
    private readonly FrameReader _serverReader;

    private Link(TransportConnection client, TransportConnection server)
    {
        Client = client;
        Server = server;
        _clientReader = client.CreateFrameReader();
        _serverReader = server.CreateFrameReader();
    }

    public TransportConnection Client { get; }

    public TransportConnection Server { get; }

    /// <summary>The frame reader of <paramref name="side"/> (the client or the server): a pipe has one reader.</summary>
    public FrameReader ReaderOf(TransportConnection side) => side == Client ? _clientReader : _serverReader;

    /// <summary>The thumbprint (SHA-1, as <c>X509Certificate2.Thumbprint</c>) of the certificate the client saw.</summary>
    public string BackendSeenByClient => Client.Security.PeerCertificate?.Certificate.Thumbprint ?? "none";

    /// <summary>The thumbprint of the certificate the server saw.</summary>
    public string FrontendSeenByServer => Server.Security.PeerCertificate?.Certificate.Thumbprint ?? "none";

    public static async Task<Link> ConnectAsync(TransportListener listener, TransportConnectorOptions options, CancellationToken cancellationToken, System.Net.EndPoint? via = null)
    {
        var client = await new TransportConnector(options).ConnectAsync(via ?? listener.LocalEndPoint, cancellationToken).AsTask().Within("the frontend's connect", cancellationToken);
        try
        {
            var server = await listener.AcceptAsync(cancellationToken).AsTask().Within($"the backend to accept (handshakes refused so far: {listener.HandshakesFailed})", cancellationToken)
                ?? throw new InvalidOperationException("The listener closed.");
            return new Link(client, server);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends <paramref name="text"/> each way and checks it arrives whole.</summary>
    public async Task PingAsync(string text, CancellationToken cancellationToken)
    {
        await Client.Output.WriteFrameAsync(Encoding.UTF8.GetBytes("to backend: " + text), cancellationToken);
        Assert.True(await _serverReader.ReadFrameAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken));
        Assert.Equal("to backend: " + text, Encoding.UTF8.GetString(_serverReader.Current.ToArray()));
        await Server.Output.WriteFrameAsync(Encoding.UTF8.GetBytes("to frontend: " + text), cancellationToken);
        Assert.True(await _clientReader.ReadFrameAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken));
        Assert.Equal("to frontend: " + text, Encoding.UTF8.GetString(_clientReader.Current.ToArray()));
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
