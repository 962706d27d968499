using System.Net.Security;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// The report's "sidecar pair" path: this transport in plaintext (<see cref="Security.EncryptInternalTraffic.Disabled"/>)
/// at both ends, with a <see cref="StunnelPair"/> between them doing mutual TLS 1.3 on an
/// <see cref="InternalIssuer"/>'s leaves and root, the same PKI as the Enabled path: frontend -> stunnel
/// client -> stunnel server -> backend listener, every hop on 127.0.0.1.
/// </summary>
internal sealed class SidecarLoopback : IAsyncDisposable
{
    private readonly TransportListener _backend;
    private readonly TransportConnector _frontend = LoopbackPairs.PlaintextConnector();

    private SidecarLoopback(TransportListener backend, StunnelPair pair)
    {
        _backend = backend;
        Pair = pair;
    }

    /// <summary>The two stunnel processes.</summary>
    public StunnelPair Pair { get; }

    /// <summary>
    /// A plaintext backend listener and a stunnel pair in front of it on <paramref name="issuer"/>'s current
    /// leaves, limited to <paramref name="cipherSuite"/> when given (so the pair encrypts as the Enabled path does).
    /// </summary>
    public static async Task<SidecarLoopback> StartAsync(string stunnel, InternalIssuer issuer, TlsCipherSuite? cipherSuite = null)
    {
        var backend = LoopbackPairs.ListenPlaintext();
        try
        {
            var pair = await StunnelPair.StartAsync(
                stunnel,
                issuer.Backend.GetCurrent(),
                issuer.Frontend.GetCurrent(),
                backend.LocalEndPoint,
                TlsLoopback.ServerIdentity,
                cipherSuite is { } suite ? [suite.ToString()] : null);
            return new SidecarLoopback(backend, pair) { CipherSuite = cipherSuite };
        }
        catch
        {
            await backend.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The same, limited to the suite this transport's Enabled path negotiates on <paramref name="issuer"/>'s
    /// leaves (one connect to find out), so the two encrypted paths differ in where TLS runs, not in the cipher.
    /// </summary>
    public static async Task<SidecarLoopback> StartMatchingEnabledAsync(string stunnel, InternalIssuer issuer)
        => await StartAsync(stunnel, issuer, await EnabledSuiteAsync(issuer));

    /// <summary>The suite this transport's Enabled path negotiates on <paramref name="issuer"/>'s leaves: one connect.</summary>
    public static async Task<TlsCipherSuite?> EnabledSuiteAsync(InternalIssuer issuer)
    {
        var (listener, client, server) = await TlsLoopback.ConnectTransportAsync(issuer);
        var suite = client.Security.CipherSuite;
        client.Abort("the sidecar pair's suite probe");
        await client.DisposeAsync();
        await server.DisposeAsync();
        await listener.DisposeAsync();
        return suite;
    }

    /// <summary>The suite the pair is limited to, or null for stunnel's default.</summary>
    public TlsCipherSuite? CipherSuite { get; private init; }

    /// <summary>
    /// One connection through the pair: the frontend's end and the backend's. Call one at a time, so the
    /// backend's next accepted connection is this one.
    /// </summary>
    /// <exception cref="InvalidOperationException">The backend saw no connection within 15 s (the pair's log says why).</exception>
    public async Task<(TransportConnection Client, TransportConnection Server)> ConnectAsync()
    {
        var client = await _frontend.ConnectAsync(Pair.FrontendEndPoint);
        try
        {
            return (client, await AcceptAsync());
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>The backend's next connection: whatever came through the stunnel server.</summary>
    /// <exception cref="InvalidOperationException">The backend saw no connection within 15 s (the pair's log says why).</exception>
    public async Task<TransportConnection> AcceptAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            return await _backend.AcceptAsync(bound.Token) ?? throw new InvalidOperationException("The backend listener closed.");
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"Nothing reached the backend through the sidecar pair within 15 s.{Environment.NewLine}{Pair.Log}");
        }
    }

    /// <summary>Kills the pair, then closes the backend listener.</summary>
    public async ValueTask DisposeAsync()
    {
        await Pair.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
