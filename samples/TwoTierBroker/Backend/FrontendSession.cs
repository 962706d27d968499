using System.Collections.Immutable;
using Broker.Transport.Connections;
using MQTTnet;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Backend;

/// <summary>
/// One frontend's connection to a backend: the topic filters its clients hold (the frontend counts its
/// clients and sends each filter once), and the connection's output, which every publisher's loop writes to.
/// </summary>
internal sealed class FrontendSession(TransportConnection connection) : IDisposable
{
    private readonly SemaphoreSlim _write = new(1, 1);
    private ImmutableHashSet<string> _filters = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

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
}
