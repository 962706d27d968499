using System.Net;
using System.Net.Sockets;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A loopback endpoint where a TCP connect neither succeeds nor fails: a listening socket whose accept
/// queue is full and never drained. Linux drops the SYNs of further connects (they retry, and wait), so a
/// connector's timeout and cancellation can be tested without a network.
/// </summary>
internal sealed class Unanswered : IDisposable
{
    private readonly Socket _listener;
    private readonly List<Socket> _fillers = [];

    private Unanswered(Socket listener) => _listener = listener;

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>
    /// Binds, listens with a backlog of 1 and connects until one connect is left waiting. The connects are
    /// non-blocking and watched with <see cref="Socket.Poll(TimeSpan, SelectMode)"/>, a system call, so a
    /// busy thread pool cannot make an accepted connect look unanswered: the kernel completes a loopback
    /// handshake it accepts at once, and retries a dropped SYN only after a second.
    /// </summary>
    public static Unanswered Create()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var unanswered = new Unanswered(listener);
        try
        {
            for (var attempt = 0; attempt < 16; attempt++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                unanswered._fillers.Add(filler);
                try
                {
                    filler.Connect(unanswered.EndPoint);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                }

                if (!filler.Poll(TimeSpan.FromMilliseconds(500), SelectMode.SelectWrite))
                {
                    return unanswered; // The queue is full: this connect was left waiting.
                }
            }

            throw new InvalidOperationException("Every connect to a listener that never accepts succeeded; this kernel does not drop SYNs on a full accept queue.");
        }
        catch
        {
            unanswered.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var filler in _fillers)
        {
            filler.Dispose();
        }

        _listener.Dispose();
    }
}
