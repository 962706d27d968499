using System.Collections.Immutable;
using System.Net;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Microsoft.Extensions.Logging;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Backend;

/// <summary>
/// A backend pod: one partition of the topic space. It listens on the transport, keeps for each frontend
/// connection the topic filters subscribed through it, and sends every publish it owns to each frontend with
/// a matching filter, once per frontend (the frontend fans it out to its own clients). A QoS 1 publish is
/// acknowledged once every subscribed frontend confirmed its delivery. It stores nothing: a
/// restarted backend starts empty, and the frontends send their filters and unacknowledged publishes again.
/// </summary>
public sealed class BackendNode : IAsyncDisposable
{
    /// <summary>How long a frontend may take to send its Hello after the transport handed its connection out.</summary>
    public static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a started backend holds publishes before it routes them: the frontends' longest reconnect
    /// delay (5 s by default) and a second more. A backend stores nothing, so a restarted one knows no filter
    /// until the frontends are back; routing a publish before the subscriber's frontend has re-sent its
    /// filters would drop it for that subscriber (and acknowledge it).
    /// </summary>
    public static readonly TimeSpan DefaultWarmUp = TimeSpan.FromSeconds(6);

    private readonly TransportListener _listener;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private readonly List<Task> _serving = [];
    private ImmutableArray<FrontendSession> _sessions = [];
    private long _published;
    private long _delivered;
    private int _disposed;

    private readonly long _routingFrom;

    private BackendNode(TransportListener listener, string name, TimeSpan warmUp, ILoggerFactory loggerFactory)
    {
        _listener = listener;
        Name = name;
        _routingFrom = Environment.TickCount64 + (long)warmUp.TotalMilliseconds;
        _log = loggerFactory.CreateLogger("TwoTierBroker.Backend");
        _listener.HandshakeFailed += (_, e) =>
            SampleLog.HandshakeRefused(_log, Name, e.RemoteEndPoint?.ToString() ?? "an unknown peer", e.Error.Reason, e.Error.Message);
        _accepting = AcceptAsync();
    }

    /// <summary>This backend's name, sent to frontends in its Welcome.</summary>
    public string Name { get; }

    /// <summary>Where the backend listens (port 0 given to <see cref="Start"/> is resolved here).</summary>
    public IPEndPoint EndPoint => _listener.LocalEndPoint;

    /// <summary>Frontends connected now.</summary>
    public int Frontends => _sessions.Length;

    /// <summary>Publishes taken since the start.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Deliveries sent to frontends since the start.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Binds <paramref name="endpoint"/> with the transport's <paramref name="transport"/> options and starts serving.</summary>
    /// <param name="endpoint">Where to listen; port 0 picks one.</param>
    /// <param name="transport">The transport's listener options: encryption, certificates, identities.</param>
    /// <param name="name">The backend's name, in the frontends' logs.</param>
    /// <param name="loggerFactory">Where the backend and the transport log.</param>
    /// <param name="warmUp">How long publishes wait before they are routed (<see cref="DefaultWarmUp"/> when null; zero for a backend started before any frontend).</param>
    /// <exception cref="System.Net.Sockets.SocketException">The endpoint cannot be bound.</exception>
    public static BackendNode Start(IPEndPoint endpoint, TransportListenerOptions transport, string name, ILoggerFactory loggerFactory, TimeSpan? warmUp = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return new BackendNode(TransportListener.Bind(endpoint, transport), name, warmUp ?? DefaultWarmUp, loggerFactory);
    }

    /// <summary>
    /// Stops accepting, stops reading, and closes every frontend's connection gracefully (what was written
    /// reaches the frontend first); waits for their loops to end.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        await _accepting.ConfigureAwait(false);
        Task[] serving;
        lock (_serving)
        {
            serving = [.. _serving];
        }

        await Task.WhenAll(serving).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Ends the backend as a crash would: every frontend's connection reset at once, whatever it had not sent yet dropped.</summary>
    public async ValueTask AbortAsync()
    {
        foreach (var session in _sessions)
        {
            session.Connection.Abort($"Backend {Name} was aborted.");
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false) is { } connection)
            {
                var task = ServeAsync(connection);
                lock (_serving)
                {
                    _serving.RemoveAll(t => t.IsCompleted);
                    _serving.Add(task);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task ServeAsync(TransportConnection connection)
    {
        await Task.Yield();
        using var session = new FrontendSession(connection);
        var reason = "it closed the connection";
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                var frames = connection.CreateFrameReader();
                if (!await GreetAsync(session, frames).ConfigureAwait(false))
                {
                    return;
                }

                ImmutableInterlocked.Update(ref _sessions, static (all, s) => all.Add(s), session);
                SampleLog.FrontendJoined(_log, Name, session.Name, connection.RemoteEndPoint.ToString() ?? "?", connection.Security.ToString(), connection.Security.PeerCertificate?.Thumbprint ?? "none");
                while (await frames.ReadFrameAsync(_stopping.Token).ConfigureAwait(false))
                {
                    await HandleAsync(session, BrokerCodec.Decode(frames.Current)).ConfigureAwait(false);
                }
            }
            catch (ProtocolException ex)
            {
                reason = ex.Message;
                SampleLog.ProtocolViolation(_log, Name, session.Name, ex.Message);
                connection.Abort($"Protocol violation: {ex.Message}");
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                reason = "the backend is stopping";
            }
#pragma warning disable CA1031 // A connection's failure (reset, abort, broken framing) ends that connection only.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                reason = $"{ex.GetType().Name}: {ex.Message}";
            }
            finally
            {
                ImmutableInterlocked.Update(ref _sessions, static (all, s) => all.Remove(s), session);
                session.Lost(CancellationToken.None);
            }

            SampleLog.FrontendLeft(_log, Name, session.Name, reason);
        }
    }

    /// <summary>The first message must be a Hello, within <see cref="HelloTimeout"/>; the answer is a Welcome.</summary>
    private async Task<bool> GreetAsync(FrontendSession session, FrameReader frames)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(HelloTimeout);
        bool read;
        try
        {
            read = await frames.ReadFrameAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            throw new ProtocolException($"No Hello within {HelloTimeout.TotalSeconds:0} s.");
        }

        if (!read)
        {
            return false;
        }

        var hello = BrokerCodec.Decode(frames.Current);
        if (hello.Kind != MessageKind.Hello)
        {
            throw new ProtocolException($"The first message must be a Hello; it was a {hello.Kind}.");
        }

        session.Name = hello.Text;
        await session.SendAsync(BrokerMessage.Welcome(Name), _stopping.Token).ConfigureAwait(false);
        return true;
    }

    private async ValueTask HandleAsync(FrontendSession session, BrokerMessage message)
    {
        switch (message.Kind)
        {
            case MessageKind.Subscribe:
                session.Subscribe(message.Text);
                await session.SendAsync(BrokerMessage.Ack(message.Id), _stopping.Token).ConfigureAwait(false);
                break;
            case MessageKind.Unsubscribe:
                session.Unsubscribe(message.Text);
                await session.SendAsync(BrokerMessage.Ack(message.Id), _stopping.Token).ConfigureAwait(false);
                break;
            case MessageKind.Publish:
                if (_routingFrom - Environment.TickCount64 is > 0 and var wait)
                {
                    // Warming up: this frontend's reads wait, so its publishes keep their order.
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), _stopping.Token).ConfigureAwait(false);
                }

                await PublishAsync(session, message).ConfigureAwait(false);
                Interlocked.Increment(ref _published);
                break;
            case MessageKind.Ack:
                session.Confirmed(message.Id, _stopping.Token);
                break;
            default:
                throw new ProtocolException($"A frontend sent a {message.Kind}, which only a backend sends.");
        }
    }

    /// <summary>
    /// Sends the publish to every frontend with a matching filter, the publisher's own included (its other
    /// clients may be subscribed). A QoS 1 publish is acknowledged once every one of them confirmed its
    /// delivery (<see cref="PublishTracker"/>), so a backend or link lost in between makes the publisher send
    /// it again rather than lose it. The payload is still the frame's slice: it is written before the next read.
    /// </summary>
    private async ValueTask PublishAsync(FrontendSession publisher, BrokerMessage publish)
    {
        var targets = _sessions.Where(s => s.Matches(publish.Text)).ToList();
        var tracker = publish.Qos == 1 && targets.Count > 0 ? new PublishTracker(publisher, publish.Id, targets.Count) : null;
        foreach (var target in targets)
        {
            // A frontend whose connection is going away reports its delivery lost; its loop logs why.
            if (await target.DeliverAsync(publish.Qos, publish.Text, publish.Payload, tracker, _stopping.Token).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _delivered);
            }
        }

        if (publish.Qos == 1 && tracker is null)
        {
            await publisher.SendAsync(BrokerMessage.Ack(publish.Id), _stopping.Token).ConfigureAwait(false);
        }
    }
}
