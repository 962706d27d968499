using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Broker.Transport.Tests.Support;

/// <summary>What a relay read in a TLS handshake's clear part: the ClientHello and the ServerHello.</summary>
/// <param name="ClientOfferedResumption">The ClientHello carried a pre_shared_key extension: the client offered a session ticket.</param>
/// <param name="ServerResumed">The ServerHello carried a pre_shared_key extension: the server accepted it, the session was resumed (RFC 8446, 4.2.11).</param>
internal sealed record HandshakeSeen(bool ClientOfferedResumption, bool ServerResumed);

/// <summary>
/// A TCP relay on 127.0.0.1, port 0, in front of a listener: it copies bytes both ways untouched and reads
/// the ClientHello and ServerHello, which TLS 1.3 sends in the clear, to tell whether a handshake was a
/// resumption. Real sockets; nothing in the transport knows it is there.
/// </summary>
internal sealed class TlsHandshakeRelay : IAsyncDisposable
{
    private const byte HandshakeRecord = 22;
    private const ushort PreSharedKey = 41;

    private readonly Socket _listen;
    private readonly EndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<HandshakeSeen> _seen = Channel.CreateUnbounded<HandshakeSeen>();
    private readonly List<Task> _tasks = [];
    private readonly Task _accepting;

    public TlsHandshakeRelay(EndPoint target)
    {
        _target = target;
        _listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listen.Listen(64);
        LocalEndPoint = (IPEndPoint)_listen.LocalEndPoint!;
        _accepting = AcceptAsync();
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>
    /// Awaited before a connection's first bytes from the client (its ClientHello) go on to the listener: a
    /// test holds a handshake there, after the client has taken its credentials and before the server takes its own.
    /// </summary>
    public Func<Task>? BeforeClientHello { get; set; }

    /// <summary>The next connection's handshake, once both hellos went through.</summary>
    public async Task<HandshakeSeen> NextAsync(CancellationToken cancellationToken)
        => await _seen.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listen.Dispose();
        await _accepting;
        Task[] tasks;
        lock (_tasks)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listen.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            lock (_tasks)
            {
                _tasks.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var _ = client;
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(_target, _stop.Token);
            var clientHello = new HelloReader(1);
            var serverHello = new HelloReader(2);
            var up = PumpAsync(client, server, clientHello, BeforeClientHello);
            var down = PumpAsync(server, client, serverHello);
            var offered = await clientHello.Offered.Task.WaitAsync(_stop.Token);
            var resumed = await serverHello.Offered.Task.WaitAsync(_stop.Token);
            _seen.Writer.TryWrite(new HandshakeSeen(offered, resumed));
            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Socket from, Socket to, HelloReader reader, Func<Task>? beforeFirst = null)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (beforeFirst is not null)
                {
                    await beforeFirst();
                    beforeFirst = null;
                }

                reader.Feed(buffer.AsSpan(0, read));
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            from.Dispose();
            to.Dispose();
        }
        finally
        {
            reader.Offered.TrySetCanceled();
        }
    }

    /// <summary>Reads the first handshake message of one direction and says whether it carries pre_shared_key.</summary>
    private sealed class HelloReader(byte expectedType)
    {
        private readonly List<byte> _records = [];
        private readonly List<byte> _handshake = [];

        public TaskCompletionSource<bool> Offered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Feed(ReadOnlySpan<byte> bytes)
        {
            if (Offered.Task.IsCompleted)
            {
                return;
            }

            _records.AddRange(bytes);
            while (_records.Count >= 5)
            {
                var length = (_records[3] << 8) | _records[4];
                if (_records.Count < 5 + length)
                {
                    return;
                }

                if (_records[0] == HandshakeRecord)
                {
                    _handshake.AddRange(_records.GetRange(5, length));
                }

                _records.RemoveRange(0, 5 + length);
                if (_handshake.Count >= 4)
                {
                    var message = (_handshake[1] << 16) | (_handshake[2] << 8) | _handshake[3];
                    if (_handshake.Count >= 4 + message)
                    {
                        var body = _handshake.GetRange(4, message).ToArray();
                        Offered.TrySetResult(_handshake[0] == expectedType && HasPreSharedKey(body, expectedType == 1));
                        return;
                    }
                }
            }
        }

        // ClientHello: version(2) random(32) session_id<1> cipher_suites<2> compression<1> extensions<2>.
        // ServerHello: version(2) random(32) session_id<1> cipher_suite(2) compression(1) extensions<2>. (RFC 8446, 4.1.2-4.1.3)
        private static bool HasPreSharedKey(byte[] body, bool clientHello)
        {
            var at = 2 + 32;
            at += 1 + body[at];
            if (clientHello)
            {
                at += 2 + BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(at));
                at += 1 + body[at];
            }
            else
            {
                at += 2 + 1;
            }

            var end = at + 2 + BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(at));
            at += 2;
            while (at + 4 <= end)
            {
                var type = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(at));
                var length = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(at + 2));
                if (type == PreSharedKey)
                {
                    return true;
                }

                at += 4 + length;
            }

            return false;
        }
    }
}
