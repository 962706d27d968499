using System.Net;
using System.Threading.Channels;
using Broker.Transport;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Frontend;

/// <summary>
/// A frontend's link to one backend partition: it takes its connections from the library's <see cref="ConnectionKeeper"/>,
/// greets the backend, sends it the frontend's whole filter table and every QoS 1 publish it has not yet
/// acknowledged, then reads acks and deliveries until the connection ends. Requests (QoS 1 publishes,
/// subscribes, unsubscribes) wait in <see cref="_pending"/> until their ack, so a publish written to a
/// backend that died before answering is sent again to the backend that comes back: at least once.
/// </summary>
internal sealed partial class BackendLink : IDisposable
{
    private readonly FrontendNode _node;
    private readonly TransportConnector _connector;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly SortedDictionary<ulong, Pending> _pending = [];
    private readonly TaskCompletionSource _firstLink = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TransportConnection? _connection;
    private ulong _lastId;
    private long _droppedWhileDown;

    public BackendLink(FrontendNode node, int partition, EndPoint endpoint, TransportConnector connector, ILogger log)
    {
        _node = node;
        Partition = partition;
        EndPoint = endpoint;
        _connector = connector;
        _log = log;
    }

    public int Partition { get; }

    public EndPoint EndPoint { get; }

    /// <summary>Whether the link is up: connected, greeted and caught up.</summary>
    public bool IsUp => Volatile.Read(ref _connection) is not null;

    /// <summary>What the current connection negotiated (the backend's certificate among it); null while down.</summary>
    public Broker.Transport.Security.ConnectionSecurityInfo? Security => Volatile.Read(ref _connection)?.Security;

    /// <summary>Why the last attempt failed; null while up or before the first attempt ended.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>
    /// Whether the last attempt was refused by the transport itself (<see cref="HandshakeException"/>, such as
    /// <see cref="EncryptionMismatchException"/>): a configuration fault that retrying alone will not mend, so
    /// publishes for this partition are refused at once rather than after <see cref="FrontendOptions.PublishTimeout"/>.
    /// </summary>
    public bool IsRefused => !IsUp && LastError is HandshakeException;

    /// <summary>Completes when the link first comes up.</summary>
    public Task FirstLinked => _firstLink.Task;

    /// <summary>Requests waiting for their ack (QoS 1 publishes among them).</summary>
    public int PendingCount
    {
        get
        {
            lock (_pending)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Call once <see cref="RunAsync"/> has ended.</summary>
    public void Dispose() => _write.Dispose();

    /// <summary>
    /// Serves the connections the library's <see cref="ConnectionKeeper"/> holds to the backend until
    /// <paramref name="stopping"/> fires: it reconnects with gRPC's backoff after a failure, and when a connection
    /// drains (a certificate about to expire, a root leaving the trust bundle) it connects the successor first; the
    /// successor is greeted and caught up, then takes the writes, and only then does the old one end (make before break).
    /// </summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var keeper = new ConnectionKeeper(_connector, EndPoint, _node.Options.Reconnect);
        await using (keeper.ConfigureAwait(false))
        {
            keeper.StateChanged += (_, e) =>
            {
                if (e.State == ConnectionKeeperState.BackingOff && e.Error is { } error)
                {
                    LastError = error;
                    LogFailure(error, e.RetryIn ?? TimeSpan.Zero);
                }
            };

            var serving = new List<Task>();
            try
            {
                await foreach (var connection in keeper.ConnectionsAsync(stopping).ConfigureAwait(false))
                {
                    serving.RemoveAll(static t => t.IsCompleted);
                    serving.Add(ServeAsync(connection, stopping));
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
            }

            await Task.WhenAll(serving).ConfigureAwait(false);
        }

        FailPending("the frontend is stopping");
    }

    /// <summary>One connection of the link: greeted, caught up, made current (ending the one before), read until it ends.</summary>
    private async Task ServeAsync(TransportConnection connection, CancellationToken stopping)
    {
        try
        {
            var frames = connection.CreateFrameReader();
            var backend = await GreetAsync(connection, frames, stopping).ConfigureAwait(false);
            var previous = await CatchUpAsync(connection, backend, stopping).ConfigureAwait(false);
            if (previous is not null)
            {
                await RetireAsync(previous).ConfigureAwait(false);
            }

            await ReadAsync(frames, stopping).ConfigureAwait(false);
            if (Volatile.Read(ref _connection) == connection)
            {
                LastError = new IOException($"Backend {backend} closed the connection.");
                SampleLog.LinkLost(_log, _node.Options.Name, Partition, EndPoint.ToString() ?? "?", connection.ConnectionId, LastError.Message);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // Any failure of one connection (reset, timed out, a protocol fault) is logged; the keeper connects again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LastError = ex;
            SampleLog.LinkLost(_log, _node.Options.Name, Partition, EndPoint.ToString() ?? "?", connection.ConnectionId, ex.Message);
        }
        finally
        {
            // Down before the connection goes, so no publisher writes to a closed one; a successor already current stays.
            Interlocked.CompareExchange(ref _connection, null, connection);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Ends the connection a successor replaced: no writer uses it any more (they take the current one under the
    /// write lock), so its output completes after what was written, and its read loop takes the backend's last acks
    /// and deliveries until the backend ends its side too.
    /// </summary>
    private async Task RetireAsync(TransportConnection previous)
    {
        await _write.WaitAsync().ConfigureAwait(false);
        try
        {
            await previous.Output.CompleteAsync().ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }

        SampleLog.LinkHandedOver(_log, _node.Options.Name, Partition, EndPoint.ToString() ?? "?", previous.ConnectionId, previous.DrainReason.ToString());
    }

    /// <summary>Hello, and the backend's Welcome within the hello timeout. A mismatched peer fails here: its first read is the transport's error.</summary>
    private async Task<string> GreetAsync(TransportConnection connection, FrameReader frames, CancellationToken stopping)
    {
        BrokerCodec.WriteFrame(connection.Output, BrokerMessage.Hello(_node.Options.Name));
        await connection.Output.FlushAsync(stopping).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(_node.Options.HelloTimeout);
        bool read;
        try
        {
            read = await frames.ReadFrameAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new TimeoutException($"The backend at {EndPoint} did not answer the Hello within {_node.Options.HelloTimeout.TotalSeconds:0.#} s.");
        }

        if (!read)
        {
            throw new IOException($"The backend at {EndPoint} closed the connection before its Welcome.");
        }

        var welcome = BrokerCodec.Decode(frames.Current);
        return welcome.Kind == MessageKind.Welcome
            ? welcome.Text
            : throw new ProtocolException($"The backend at {EndPoint} answered the Hello with a {welcome.Kind}.");
    }

    /// <summary>
    /// Sends the filter table, then every publish still waiting for its ack, and only then marks the link up:
    /// nothing new is written to the connection before the backend has the state it lost.
    /// </summary>
    /// <returns>The connection this one replaced, still open; null when the link was down.</returns>
    private async Task<TransportConnection?> CatchUpAsync(TransportConnection connection, string backend, CancellationToken stopping)
    {
        await _node.Subscriptions.Lock.WaitAsync(stopping).ConfigureAwait(false);
        try
        {
            await _write.WaitAsync(stopping).ConfigureAwait(false);
            try
            {
                var filters = _node.Subscriptions.Snapshot();
                foreach (var filter in filters)
                {
                    BrokerCodec.WriteFrame(connection.Output, BrokerMessage.Subscribe(NextId(), filter));
                }

                Pending[] publishes;
                lock (_pending)
                {
                    // Subscribes and unsubscribes waiting from the last connection are settled by the table
                    // just sent, which is the state they were changing.
                    foreach (var request in _pending.Values.Where(p => p.Message.Kind != MessageKind.Publish).ToList())
                    {
                        _pending.Remove(request.Message.Id);
                        request.Done.TrySetResult(AckResult.Success);
                    }

                    publishes = [.. _pending.Values];
                }

                foreach (var publish in publishes)
                {
                    BrokerCodec.WriteFrame(connection.Output, publish.Message);
                }

                await FlushAsync(connection, stopping).ConfigureAwait(false);
                var previous = Interlocked.Exchange(ref _connection, connection);
                LastError = null;
                SampleLog.Linked(_log, _node.Options.Name, backend, Partition, EndPoint.ToString() ?? "?", connection.Security.ToString(), connection.Security.PeerCertificate?.Thumbprint ?? "none", filters.Length, publishes.Length);
                if (Interlocked.Exchange(ref _droppedWhileDown, 0) is > 0 and var dropped)
                {
                    SampleLog.QosZeroDropped(_log, _node.Options.Name, Partition, dropped);
                }

                _firstLink.TrySetResult();
                return previous;
            }
            finally
            {
                _write.Release();
            }
        }
        finally
        {
            _node.Subscriptions.Lock.Release();
        }
    }

    private async Task ReadAsync(FrameReader frames, CancellationToken stopping)
    {
        // Delivery confirmations leave through their own loop: the read loop never waits for the write lock,
        // which a publisher may hold while the backend is slow to read, so the two directions cannot block each other.
        var confirmations = Channel.CreateUnbounded<ulong>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var confirming = ConfirmAsync(confirmations.Reader, stopping);
        try
        {
            while (await frames.ReadFrameAsync(stopping).ConfigureAwait(false))
            {
                var message = BrokerCodec.Decode(frames.Current);
                switch (message.Kind)
                {
                    case MessageKind.Ack:
                        Settle(message, stopping);
                        break;
                    case MessageKind.Delivery:
                        await _node.DeliverAsync(message, Partition, stopping).ConfigureAwait(false);
                        if (message.Qos == 1)
                        {
                            // In the MQTT server now: the backend may count this subscriber served.
                            confirmations.Writer.TryWrite(message.Id);
                        }

                        break;
                    default:
                        throw new ProtocolException($"The backend sent a {message.Kind}, which only a frontend sends.");
                }
            }
        }
        finally
        {
            confirmations.Writer.TryComplete();
            await confirming.ConfigureAwait(false);
        }
    }

    private async Task ConfirmAsync(ChannelReader<ulong> confirmations, CancellationToken stopping)
    {
        try
        {
            while (await confirmations.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                await _write.WaitAsync(stopping).ConfigureAwait(false);
                try
                {
                    while (confirmations.TryRead(out var id))
                    {
                        await TryWriteAsync(BrokerMessage.Ack(id), stopping).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _write.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// An ack settles its request, but for <see cref="AckStatus.Retry"/>: a subscribed frontend went away before
    /// confirming, so the publish stays pending and goes out again. An ack of a request already settled (sent
    /// twice across a reconnect, or timed out) is dropped.
    /// </summary>
    private void Settle(BrokerMessage ack, CancellationToken stopping)
    {
        Pending? request;
        lock (_pending)
        {
            if (!_pending.TryGetValue(ack.Id, out request))
            {
                return;
            }

            if (ack.Status != AckStatus.Retry)
            {
                _pending.Remove(ack.Id);
            }
        }

        if (ack.Status == AckStatus.Retry)
        {
            _ = SendAgainAsync(request, stopping);
        }
        else
        {
            request.Done.TrySetResult(AckResult.From(ack));
        }
    }

    private async Task SendAgainAsync(Pending request, CancellationToken stopping)
    {
        try
        {
            // A moment for the frontend that went away to come back and subscribe again.
            await Task.Delay(_node.Options.Reconnect.InitialBackoff, _node.Options.TimeProvider, stopping).ConfigureAwait(false);
            await _write.WaitAsync(stopping).ConfigureAwait(false);
            try
            {
                bool stillPending;
                lock (_pending)
                {
                    stillPending = _pending.ContainsKey(request.Message.Id);
                }

                if (stillPending)
                {
                    await TryWriteAsync(request.Message, stopping).ConfigureAwait(false);
                }
            }
            finally
            {
                _write.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private void LogFailure(Exception? error, TimeSpan delay)
    {
        var message = error?.Message ?? "unknown error";
        if (error is HandshakeException)
        {
            SampleLog.LinkRefused(_log, _node.Options.Name, Partition, EndPoint.ToString() ?? "?", error.GetType().Name, message, (long)delay.TotalMilliseconds);
        }
        else
        {
            SampleLog.LinkFailed(_log, _node.Options.Name, Partition, EndPoint.ToString() ?? "?", message, (long)delay.TotalMilliseconds);
        }
    }

    private ulong NextId() => ++_lastId;

    private static async ValueTask FlushAsync(TransportConnection connection, CancellationToken cancellationToken)
    {
        var flush = await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flush.IsCompleted)
        {
            throw new IOException("The backend no longer reads this connection.");
        }
    }

    private void FailPending(string reason)
    {
        lock (_pending)
        {
            foreach (var request in _pending.Values)
            {
                request.Done.TrySetResult(AckResult.Refused(reason));
            }

            _pending.Clear();
        }
    }

    /// <summary>A request waiting for its ack; a publish holds its own copy of the payload, to send again.</summary>
    private sealed class Pending(BrokerMessage message)
    {
        public BrokerMessage Message { get; } = message;

        public TaskCompletionSource<AckResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
