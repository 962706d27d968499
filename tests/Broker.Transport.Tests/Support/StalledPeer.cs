using System.Net;
using System.Net.Sockets;

namespace Broker.Transport.Tests.Support;

/// <summary>A TCP peer that starts a handshake and never finishes it: silent, or stuck inside its ClientHello.</summary>
internal sealed class StalledPeer : IDisposable
{
    // A TLS record header announcing 512 bytes of handshake, a ClientHello header, and the legacy version: then nothing.
    private static readonly byte[] PartialClientHello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a, 0x5a];

    private readonly Socket _socket;

    private StalledPeer(Socket socket) => _socket = socket;

    /// <summary>This peer's address, as the listener names it.</summary>
    public EndPoint LocalEndPoint => _socket.LocalEndPoint!;

    public static async Task<StalledPeer> ConnectAsync(IPEndPoint endpoint, bool sendPartialClientHello, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            if (sendPartialClientHello)
            {
                await socket.SendAsync(PartialClientHello, SocketFlags.None, cancellationToken);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new StalledPeer(socket);
    }

    /// <summary>Waits, bounded, for the server to drop this peer; fails if the server sends it anything instead.</summary>
    public async Task AssertDroppedAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var buffer = new byte[64];
        try
        {
            var received = await _socket.ReceiveAsync(buffer, SocketFlags.None, ct).AsTask().WaitAsync(Refusals.HangGuard, ct);
            Assert.True(received == 0, $"The stalled peer received {received} bytes instead of a close.");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }

    public void Dispose() => _socket.Dispose();
}
