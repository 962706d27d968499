using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Broker.Transport.Benchmarks;

/// <summary>What a relay saw of one connection: whether its TLS 1.3 handshake was a resumption, and the bytes each way.</summary>
/// <param name="Offered">The ClientHello carried a pre_shared_key extension: the client offered a session ticket.</param>
/// <param name="Resumed">The ServerHello carried a pre_shared_key extension: the server took it (RFC 8446, 4.2.11).</param>
/// <param name="ClientBytes">Bytes the client sent, up to the moment the relay was asked.</param>
/// <param name="ServerBytes">Bytes the server sent, up to the moment the relay was asked.</param>
internal readonly record struct HandshakeSeen(bool Offered, bool Resumed, long ClientBytes, long ServerBytes);

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a listener: copies bytes both ways untouched, counts them, and reads
/// the ClientHello and ServerHello, which TLS 1.3 sends in the clear, to tell a full handshake from a
/// resumed one. Nothing in the transport knows it is there. One connection at a time.
/// </summary>
internal sealed class HelloRelay : IDisposable
{
    private const ushort PreSharedKey = 41;

    private readonly Socket _listen = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly EndPoint _target;
    private readonly Channel<Link> _links = Channel.CreateUnbounded<Link>();

    public HelloRelay(EndPoint target)
    {
        _target = target;
        _listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listen.Listen(16);
        LocalEndPoint = (IPEndPoint)_listen.LocalEndPoint!;
        _ = AcceptAsync();
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>What the relay saw of the connection it accepted next, so far.</summary>
    public async Task<HandshakeSeen> NextAsync()
    {
        var link = await _links.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await link.HellosSeen.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return new HandshakeSeen(link.Offered, link.Resumed, Interlocked.Read(ref link.ClientBytes), Interlocked.Read(ref link.ServerBytes));
    }

    public void Dispose() => _listen.Dispose();

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listen.AcceptAsync();
                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await server.ConnectAsync(_target);
                client.NoDelay = true;
                var link = new Link();
                _links.Writer.TryWrite(link);
                _ = PumpAsync(client, server, link, fromClient: true);
                _ = PumpAsync(server, client, link, fromClient: false);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Disposed.
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, Link link, bool fromClient)
    {
        var buffer = new byte[64 * 1024];
        var hello = new List<byte>();
        try
        {
            while (true)
            {
                var received = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                if (received == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                Interlocked.Add(ref fromClient ? ref link.ClientBytes : ref link.ServerBytes, received);
                if (hello is not null)
                {
                    hello.AddRange(buffer.AsSpan(0, received));
                    if (HasPreSharedKey([.. hello], fromClient) is { } found)
                    {
                        link.Saw(fromClient, found);
                        hello = null;
                    }
                }

                await to.SendAsync(buffer.AsMemory(0, received), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // A reset or an abort: the benchmark ends its connections that way.
        }
        finally
        {
            link.HellosSeen.TrySetResult();
            from.Dispose();
        }
    }

    /// <summary>Whether the first record's hello carries pre_shared_key; null until the whole record is in.</summary>
    private static bool? HasPreSharedKey(ReadOnlySpan<byte> data, bool clientHello)
    {
        if (data.Length < 5 || data.Length < 5 + BinaryPrimitives.ReadUInt16BigEndian(data[3..]))
        {
            return null;
        }

        // Record header (5), handshake header (4), legacy_version (2), random (32), legacy_session_id.
        var hello = data[9..(5 + BinaryPrimitives.ReadUInt16BigEndian(data[3..]))];
        var at = 34 + 1 + hello[34];
        at += clientHello ? 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[at..]) : 2; // cipher_suites, or the cipher_suite
        at += clientHello ? 1 + hello[at] : 1; // legacy_compression_methods
        var end = at + 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[at..]);
        for (at += 2; at + 4 <= end; at += 4 + BinaryPrimitives.ReadUInt16BigEndian(hello[(at + 2)..]))
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(hello[at..]) == PreSharedKey)
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Link
    {
        public long ClientBytes;
        public long ServerBytes;

        public bool Offered { get; private set; }

        public bool Resumed { get; private set; }

        public TaskCompletionSource HellosSeen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private int _seen;

        public void Saw(bool fromClient, bool preSharedKey)
        {
            if (fromClient)
            {
                Offered = preSharedKey;
            }
            else
            {
                Resumed = preSharedKey;
            }

            if (Interlocked.Increment(ref _seen) == 2)
            {
                HellosSeen.TrySetResult();
            }
        }
    }
}
