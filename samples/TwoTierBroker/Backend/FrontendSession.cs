using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using Broker.Transport;
using Broker.Transport.Connections;
using MQTTnet;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Backend;

/// <summary>
/// One frontend's connection to a backend: the topic filters its clients hold (the frontend counts its
/// clients and sends each filter once), the QoS 1 deliveries it has not confirmed yet, and the connection's
/// output, which every publisher's loop writes to.
/// </summary>
internal sealed class FrontendSession(TransportConnection connection) : IDisposable
{
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly ConcurrentDictionary<ulong, PublishTracker> _unconfirmed = new();
    private ImmutableHashSet<string> _filters = ImmutableHashSet.Create<string>(StringComparer.Ordinal);
    private ulong _lastDeliveryId;

    public TransportConnection Connection { get; } = connection;

    /// <summary>The frontend's name from its Hello; its endpoint until then.</summary>
    public string Name { get; set; } = connection.RemoteEndPoint.ToString() ?? "a frontend";

    public int FilterCount => _filters.Count;

    public void Dispose() => _write.Dispose();

    /// <summary>Adds a filter; MQTT's rules are the matcher's (<see cref="MqttTopicFilterComparer"/>).</summary>
    public void Subscribe(string filter) => ImmutableInterlocked.Update(ref _filters, static (set, f) => set.Add(f), filter);

    public void Unsubscribe(string filter) => ImmutableInterlocked.Update(ref _filters, static (set, f) => set.Remove(f), filter);

    /// <summary>Whether any of the frontend's filters matches <paramref name="topic"/>.</summary>
    public bool Matches(string topic)
    {
        // A linear scan per frontend: a sample's matcher. A broker with many filters would keep a topic tree.
        foreach (var filter in _filters)
        {
            if (MqttTopicFilterComparer.Compare(topic, filter) == MqttTopicFilterCompareResult.IsMatch)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Writes one message and flushes it into the transport (which waits when the frontend is not keeping
    /// up: backpressure reaches the publisher). Several loops write here, so writes take turns.
    /// </summary>
    public async ValueTask SendAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            BrokerCodec.WriteFrame(Connection.Output, message);
            await Connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>
    /// Sends a delivery; a QoS 1 one gets an id and reports to <paramref name="tracker"/> when the frontend
    /// confirms it, or as lost when the connection fails (here, or later through <see cref="Lost"/>).
    /// </summary>
    /// <returns>Whether it was written; false when the connection is going away.</returns>
    public async ValueTask<bool> DeliverAsync(byte qos, string topic, ReadOnlySequence<byte> payload, PublishTracker? tracker, CancellationToken cancellationToken)
    {
        ulong id = 0;
        try
        {
            await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (tracker is not null)
                {
                    id = ++_lastDeliveryId;
                    _unconfirmed[id] = tracker;
                }

                BrokerCodec.WriteFrame(Connection.Output, BrokerMessage.Delivery(id, qos, topic, payload));
                await Connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
            finally
            {
                _write.Release();
            }
        }
        catch (Exception ex) when (ex is TransportException or InvalidOperationException)
        {
            // Whoever takes the entry out (here or Lost) reports it, once.
            if (tracker is not null && (id == 0 || _unconfirmed.TryRemove(id, out _)))
            {
                tracker.Complete(delivered: false, cancellationToken);
            }

            return false;
        }
    }

    /// <summary>The frontend confirmed delivery <paramref name="id"/>.</summary>
    public void Confirmed(ulong id, CancellationToken cancellationToken)
    {
        if (_unconfirmed.TryRemove(id, out var tracker))
        {
            tracker.Complete(delivered: true, cancellationToken);
        }
    }

    /// <summary>The connection ended: every delivery it had not confirmed is lost, and its publishers are told to send again.</summary>
    public void Lost(CancellationToken cancellationToken)
    {
        foreach (var id in _unconfirmed.Keys)
        {
            if (_unconfirmed.TryRemove(id, out var tracker))
            {
                tracker.Complete(delivered: false, cancellationToken);
            }
        }
    }

    /// <summary>Sends, ignoring a connection that is already gone (its frontend reconnects and sends again what it missed).</summary>
    public async Task TrySendAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TransportException or InvalidOperationException or OperationCanceledException)
        {
        }
    }
}
