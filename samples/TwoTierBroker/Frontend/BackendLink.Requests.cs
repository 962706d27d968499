using System.Buffers;
using Broker.Transport;
using Broker.Transport.Connections;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Frontend;

/// <summary>What goes out on a link: publishes, subscribes and unsubscribes.</summary>
internal sealed partial class BackendLink
{
    /// <summary>
    /// Sends a publish to this partition. QoS 0: written if the link is up, else dropped (and counted), never
    /// sent again. QoS 1: kept until the backend acknowledges it (across reconnects) and answered then; refused
    /// at once while the transport refuses the link, or after <see cref="FrontendOptions.PublishTimeout"/>.
    /// </summary>
    public async ValueTask<AckResult> PublishAsync(string topic, byte qos, ReadOnlySequence<byte> payload, CancellationToken cancellationToken)
    {
        if (qos == 0)
        {
            return await PublishOnceAsync(topic, payload, cancellationToken).ConfigureAwait(false);
        }

        if (IsRefused)
        {
            return AckResult.Refused($"partition {Partition} ({EndPoint}) is refused by the transport: {LastError?.Message}");
        }

        Pending request;
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The payload is the MQTT server's buffer: the request keeps a copy, to send again after a reconnect.
            request = new Pending(BrokerMessage.Publish(NextId(), 1, topic, new ReadOnlySequence<byte>(payload.ToArray())));
            lock (_pending)
            {
                _pending[request.Message.Id] = request;
            }

            await TryWriteAsync(request.Message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }

        try
        {
            return await request.Done.Task.WaitAsync(_node.Options.PublishTimeout, _node.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Forget(request);
            return AckResult.Refused(
                $"partition {Partition} ({EndPoint}) did not take it within {_node.Options.PublishTimeout.TotalSeconds:0.#} s"
                + (LastError is { } error ? $": {error.Message}" : string.Empty));
        }
        catch (OperationCanceledException)
        {
            Forget(request);
            throw;
        }
    }

    /// <summary>
    /// Writes a subscribe or unsubscribe if the link is up, and returns its confirmation; null when the link is
    /// down (it gets the whole table when it comes back). Called with the subscription table's lock held.
    /// </summary>
    public async ValueTask<Task<AckResult>?> RequestAsync(MessageKind kind, string filter, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsUp)
            {
                return null;
            }

            var id = NextId();
            var request = new Pending(kind == MessageKind.Subscribe ? BrokerMessage.Subscribe(id, filter) : BrokerMessage.Unsubscribe(id, filter));
            lock (_pending)
            {
                _pending[id] = request;
            }

            await TryWriteAsync(request.Message, cancellationToken).ConfigureAwait(false);
            return request.Done.Task;
        }
        finally
        {
            _write.Release();
        }
    }

    private async ValueTask<AckResult> PublishOnceAsync(string topic, ReadOnlySequence<byte> payload, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsUp && await TryWriteAsync(BrokerMessage.Publish(0, 0, topic, payload), cancellationToken).ConfigureAwait(false))
            {
                return AckResult.Success;
            }
        }
        finally
        {
            _write.Release();
        }

        if (Interlocked.Increment(ref _droppedWhileDown) == 1)
        {
            SampleLog.PublishRefused(_log, _node.Options.Name, topic, "(QoS 0)", $"partition {Partition} ({EndPoint}) is not linked; QoS 0 publishes for it are dropped until it is");
        }

        return AckResult.Refused($"partition {Partition} ({EndPoint}) is not linked");
    }

    /// <summary>
    /// Writes and flushes one message on the current connection (call with <see cref="_write"/> held). A
    /// connection that fails here is aborted, so the read loop ends and the link reconnects; a QoS 1 publish
    /// stays pending and goes out again then.
    /// </summary>
    private async ValueTask<bool> TryWriteAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _connection) is not { } connection)
        {
            return false;
        }

        try
        {
            BrokerCodec.WriteFrame(connection.Output, message);
            await FlushAsync(connection, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is TransportException or IOException or InvalidOperationException)
        {
            connection.Abort($"Writing to the backend failed: {ex.Message}");
            return false;
        }
    }

    private void Forget(Pending request)
    {
        lock (_pending)
        {
            _pending.Remove(request.Message.Id);
        }
    }
}
