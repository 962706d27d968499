using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A raw TCP peer that writes whatever bytes a test hands it: hand-made TLS records, a ClientHello with a
/// monstrous extension block, noise. Real sockets; the bytes are built here, following RFC 8446, so a test
/// can send what no TLS library would.
/// </summary>
internal sealed class HostilePeer : IDisposable
{
    private HostilePeer(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<HostilePeer> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint, cancellationToken);
        return new HostilePeer(socket);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await Socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Half-closes: the listener reads the end of the stream after what was sent.</summary>
    public void SendFin() => Socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes with linger {on, 0}: the kernel sends RST instead of FIN.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    /// <summary>
    /// Reads until the listener closes, bounded by the hang guard; returns what it sent first (an alert, a
    /// ServerHello...). A reset counts as a close.
    /// </summary>
    public async Task<byte[]> ReadUntilClosedAsync(CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).AsTask().WaitAsync(Refusals.HangGuard, cancellationToken);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return received.ToArray();
    }

    /// <summary>Reads, bounded by the hang guard, until at least <paramref name="count"/> bytes arrived; fails if the listener closes first.</summary>
    public async Task<byte[]> ReceiveAtLeastAsync(int count, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (received.Length < count)
        {
            var n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).AsTask().WaitAsync(Refusals.HangGuard, cancellationToken);
            Assert.True(n > 0, $"The listener closed after {received.Length} bytes; {count} were expected.");
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }

    public void Dispose() => Socket.Dispose();

    /// <summary>
    /// A TLS 1.3 ClientHello (RFC 8446, 4.1.2) offering TLS_AES_128_GCM_SHA256 with an X25519 key share, plus
    /// an extension of type <paramref name="bulkType"/> carrying <paramref name="bulkLength"/> zero bytes, cut
    /// into handshake records of at most 16 KiB. Without the bulk it is a ClientHello a TLS 1.3 server answers.
    /// </summary>
    public static byte[] ClientHello(int bulkLength = 0, ushort bulkType = 0xfafa)
    {
        var extensions = new List<byte>();
        void Extension(ushort type, byte[] data)
        {
            extensions.AddRange(U16(type));
            extensions.AddRange(U16((ushort)data.Length));
            extensions.AddRange(data);
        }

        Extension(0x002b, [0x02, 0x03, 0x04]);                            // supported_versions: TLS 1.3
        Extension(0x000a, [0x00, 0x02, 0x00, 0x1d]);                      // supported_groups: x25519
        Extension(0x000d, [0x00, 0x04, 0x04, 0x03, 0x08, 0x04]);          // signature_algorithms
        var share = new byte[32];
        Random.Shared.NextBytes(share);
        Extension(0x0033, [.. U16(36), .. U16(0x001d), .. U16(32), .. share]); // key_share
        if (bulkLength > 0)
        {
            Extension(bulkType, new byte[bulkLength]);
        }

        var random = new byte[32];
        Random.Shared.NextBytes(random);
        var body = new List<byte> { 0x03, 0x03 };                          // legacy_version
        body.AddRange(random);
        body.Add(0);                                                       // legacy_session_id: empty
        body.AddRange([0x00, 0x02, 0x13, 0x01]);                           // cipher_suites: TLS_AES_128_GCM_SHA256
        body.AddRange([0x01, 0x00]);                                       // legacy_compression_methods: null
        body.AddRange(U16((ushort)extensions.Count));
        body.AddRange(extensions);

        byte[] message = [0x01, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count, .. body];
        return Records(0x16, message);
    }

    /// <summary>Cuts <paramref name="fragment"/> into records of <paramref name="contentType"/>, 16 KiB at most each (RFC 8446, 5.1).</summary>
    public static byte[] Records(byte contentType, ReadOnlySpan<byte> fragment)
    {
        var records = new List<byte>();
        for (var offset = 0; offset < fragment.Length; offset += 16 * 1024)
        {
            var part = fragment.Slice(offset, Math.Min(16 * 1024, fragment.Length - offset));
            records.AddRange([contentType, 0x03, 0x01, .. U16((ushort)part.Length)]);
            records.AddRange(part.ToArray());
        }

        return [.. records];
    }

    /// <summary>A record header announcing <paramref name="length"/> bytes of <paramref name="contentType"/>, and nothing after it.</summary>
    public static byte[] RecordHeader(byte contentType, ushort length) => [contentType, 0x03, 0x01, .. U16(length)];

    private static byte[] U16(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return bytes;
    }
}
