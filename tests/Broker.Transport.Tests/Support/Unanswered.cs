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
    /// Binds, listens with a backlog of 1 and connects until one connect is left waiting. Waiting one
    /// second for a connect is how a dropped SYN is told from an accepted one: a loopback connect that the
    /// kernel accepts completes at once, and one whose SYN it dropped retries no sooner than after a second.
    /// </summary>
    public static async Task<Unanswered> CreateAsync(CancellationToken cancellationToken)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var unanswered = new Unanswered(listener);
        try
        {
            for (var attempt = 0; attempt < 16; attempt++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                unanswered._fillers.Add(filler);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    await filler.ConnectAsync(unanswered.EndPoint, wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
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
