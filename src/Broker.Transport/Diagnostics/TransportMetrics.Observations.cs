using System.Diagnostics.Metrics;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Diagnostics;

internal sealed partial class TransportMetrics
{
    private static readonly string[] ReasonTags = [.. Enum.GetValues<HandshakeFailureReason>().Select(SnakeCase)];

    private readonly Lock _gate = new();
    private readonly HashSet<IObservedConnection> _live = [];
    private readonly Dictionary<(string Side, string Encryption), (long Sent, long Received)> _closedBytes = [];
    private readonly List<WatchedSource> _sources = [];

    /// <summary>The tag value of a failure reason: <c>untrusted_chain</c>, <c>plaintext_peer</c>...</summary>
    public static string ReasonTag(HandshakeFailureReason reason)
        => (int)reason >= 0 && (int)reason < ReasonTags.Length ? ReasonTags[(int)reason] : "other";

    /// <summary>Counts a live connection's bytes from now until <see cref="Forget"/>.</summary>
    public void Watch(IObservedConnection connection)
    {
        lock (_gate)
        {
            _live.Add(connection);
        }
    }

    /// <summary>Moves a closed connection's bytes into the totals.</summary>
    public void Forget(IObservedConnection connection, string side, string encryption)
    {
        lock (_gate)
        {
            if (_live.Remove(connection))
            {
                var key = (side, encryption);
                _closedBytes.TryGetValue(key, out var total);
                _closedBytes[key] = (total.Sent + connection.BytesSent, total.Received + connection.BytesReceived);
            }
        }
    }

    /// <summary>
    /// Observes <paramref name="source"/>'s certificates for the expiry gauges while <paramref name="owner"/> (a
    /// listener's or connector's telemetry, weakly held) lives, or until <see cref="Unwatch"/>.
    /// </summary>
    public void Watch(object owner, ICertificateSource source, string side, TimeProvider time)
    {
        lock (_gate)
        {
            _sources.RemoveAll(static w => !w.Owner.TryGetTarget(out _));
            _sources.Add(new WatchedSource(new WeakReference<object>(owner), new WeakReference<ICertificateSource>(source), side, time));
        }
    }

    public void Unwatch(object owner)
    {
        lock (_gate)
        {
            _sources.RemoveAll(w => !w.Owner.TryGetTarget(out var o) || ReferenceEquals(o, owner));
        }
    }

    private IEnumerable<Measurement<long>> ObserveBytesSent() => ObserveBytes(sent: true);

    private IEnumerable<Measurement<long>> ObserveBytesReceived() => ObserveBytes(sent: false);

    private List<Measurement<long>> ObserveBytes(bool sent)
    {
        lock (_gate)
        {
            var totals = new Dictionary<(string Side, string Encryption), long>();
            foreach (var (key, value) in _closedBytes)
            {
                totals[key] = sent ? value.Sent : value.Received;
            }

            foreach (var connection in _live)
            {
                var key = (connection.Side, connection.Security.IsEncrypted ? Tags.Enabled : Tags.Disabled);
                totals.TryGetValue(key, out var total);
                totals[key] = total + (sent ? connection.BytesSent : connection.BytesReceived);
            }

            return [.. totals.Select(t => new Measurement<long>(t.Value, new(Tags.Side, t.Key.Side), new(Tags.Encryption, t.Key.Encryption)))];
        }
    }

    // The leaf's copy of its NotAfter: a version replaced since GetCurrent may have had its leaf disposed.
    private List<Measurement<double>> ObserveLeafExpiry() => ObserveExpiry(static c => c.NotAfter);

    private List<Measurement<double>> ObserveRootExpiry() => ObserveExpiry(static c => c.SigningRoot() is { } root ? new DateTimeOffset(root.NotAfter.ToUniversalTime(), TimeSpan.Zero) : null);

    private List<Measurement<double>> ObserveExpiry(Func<CertificateCredentials, DateTimeOffset?> pick)
    {
        WatchedSource[] sources;
        lock (_gate)
        {
            sources = [.. _sources];
        }

        var measurements = new List<Measurement<double>>();
        var seen = new HashSet<(ICertificateSource, string)>();
        foreach (var watched in sources)
        {
            // Several listeners or connectors may share a source: one measurement per source and side.
            if (!watched.Owner.TryGetTarget(out _) || !watched.Source.TryGetTarget(out var source) || !seen.Add((source, watched.Side)))
            {
                continue;
            }

            CertificateCredentials credentials;
            try
            {
                credentials = source.GetCurrent();
            }
            catch (CertificateUnavailableException)
            {
                continue; // Nothing loaded: no value (the health check reports it).
            }

            if (pick(credentials) is { } notAfter)
            {
                var left = notAfter - watched.Time.GetUtcNow();
                measurements.Add(new Measurement<double>(left.TotalSeconds, new KeyValuePair<string, object?>(Tags.Side, watched.Side)));
            }
        }

        return measurements;
    }

    private static string SnakeCase(HandshakeFailureReason reason)
    {
        var name = reason.ToString();
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }

    private sealed record WatchedSource(WeakReference<object> Owner, WeakReference<ICertificateSource> Source, string Side, TimeProvider Time);
}
