using Broker.Transport.Certificates;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Broker.Transport.Diagnostics;

/// <summary>
/// The transport's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/>, made through the
/// <see cref="IMeterFactory"/> the options carry (one set per factory, so every listener, connector and
/// certificate source of one host shares them). Names and units follow OpenTelemetry's conventions; the
/// README's operating section lists every instrument and tag.
/// </summary>
/// <remarks>
/// Nothing here runs per frame. Bytes are counted by the pumps in plain fields of their connection and read
/// by an observable counter when a listener collects, so a connection nobody measures pays one add per
/// socket call; every other instrument records once per connection, handshake or rotation.
/// </remarks>
internal sealed partial class TransportMetrics
{
    /// <summary>The meter's name, what an OpenTelemetry <c>AddMeter</c> call names.</summary>
    public const string MeterName = "Broker.Transport";

    private static readonly ConditionalWeakTable<IMeterFactory, TransportMetrics> ByFactory = [];
    private static readonly Lazy<TransportMetrics> Shared = new(() => new TransportMetrics(new Meter(MeterName)));

    private readonly Histogram<double> _handshakeDuration;
    private readonly Counter<long> _handshakes;
    private readonly UpDownCounter<long> _activeConnections;
    private readonly Counter<long> _openedConnections;
    private readonly Counter<long> _closedConnections;
    private readonly Counter<long> _rotations;
    private readonly Counter<long> _drains;
    private readonly Counter<long> _keeperConnects;
    private readonly Counter<long> _keeperFailures;
    private readonly Counter<long> _rotationFailures;

    private TransportMetrics(Meter meter)
    {
        Meter = meter;
        _handshakeDuration = meter.CreateHistogram<double>(
            "broker.transport.handshake.duration",
            unit: "s",
            description: "How long TLS handshakes took, successful or not.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] });
        _handshakes = meter.CreateCounter<long>("broker.transport.handshakes", unit: "{handshake}", description: "TLS handshakes finished, by outcome and, for failures, reason.");
        _activeConnections = meter.CreateUpDownCounter<long>("broker.transport.connections.active", unit: "{connection}", description: "Connections open now.");
        _openedConnections = meter.CreateCounter<long>("broker.transport.connections.opened", unit: "{connection}", description: "Connections set up and handed to the application.");
        _closedConnections = meter.CreateCounter<long>("broker.transport.connections.closed", unit: "{connection}", description: "Connections finished both ways, by how the peer's stream ended: clean, truncated (a TLS stream cut without close_notify), reset, aborted, mismatch, refused, failed.");
        _drains = meter.CreateCounter<long>("broker.transport.connections.drains", unit: "{connection}", description: "Connections asked to drain at their lifetime bound, by reason (leaf expiry, peer root removed, max connection age), and by whether the transport had to close them when DrainGrace ran out.");
        _keeperConnects = meter.CreateCounter<long>("broker.transport.keeper.connects", unit: "{connection}", description: "Connections a connection keeper opened, by cause: first, reconnect (the previous one ended without draining), hand_over (the successor of a draining one).");
        _keeperFailures = meter.CreateCounter<long>("broker.transport.keeper.connect.failures", unit: "{attempt}", description: "A connection keeper's failed attempts to connect, each followed by a backoff.");
        _rotations = meter.CreateCounter<long>("broker.transport.certificate.rotations", unit: "{rotation}", description: "Certificates replaced by a new one: renewals, root rollovers, Secret reloads, trust bundle changes and root handover steps.");
        _rotationFailures = meter.CreateCounter<long>("broker.transport.certificate.rotation.failures", unit: "{failure}", description: "Failed rotation attempts; the last good certificate stays in use.");
        meter.CreateObservableCounter("broker.transport.bytes.sent", ObserveBytesSent, unit: "By", description: "Application bytes sent (before encryption).");
        meter.CreateObservableCounter("broker.transport.bytes.received", ObserveBytesReceived, unit: "By", description: "Application bytes received (after decryption).");
        meter.CreateObservableGauge("broker.transport.certificate.leaf.expires_in", ObserveLeafExpiry, unit: "s", description: "Seconds until the current leaf certificate expires; negative once it has.");
        meter.CreateObservableGauge("broker.transport.certificate.root.expires_in", ObserveRootExpiry, unit: "s", description: "Seconds until the root that signed the current leaf expires; negative once it has.");
    }

    /// <summary>The meter (one per factory).</summary>
    public Meter Meter { get; }

    /// <summary>The instruments on <paramref name="factory"/>'s meter; without a factory, on a process-wide meter of the same name.</summary>
    public static TransportMetrics For(IMeterFactory? factory)
        => factory is null ? Shared.Value : ByFactory.GetValue(factory, static f => new TransportMetrics(f.Create(MeterName)));

    public void HandshakeFinished(string side, TimeSpan duration, string? failureReason)
    {
        var outcome = new KeyValuePair<string, object?>(Tags.Outcome, failureReason is null ? "success" : "failure");
        var sideTag = new KeyValuePair<string, object?>(Tags.Side, side);
        if (failureReason is null)
        {
            _handshakeDuration.Record(duration.TotalSeconds, sideTag, outcome);
            _handshakes.Add(1, sideTag, outcome);
        }
        else
        {
            var reason = new KeyValuePair<string, object?>(Tags.Reason, failureReason);
            _handshakeDuration.Record(duration.TotalSeconds, sideTag, outcome, reason);
            _handshakes.Add(1, sideTag, outcome, reason);
        }
    }

    /// <summary>A mismatch found after setup (a TLS peer on a plaintext connection): counted as a failed handshake, with no duration.</summary>
    public void HandshakeRefusedLate(string side, string failureReason)
        => _handshakes.Add(1, new(Tags.Side, side), new(Tags.Outcome, "failure"), new(Tags.Reason, failureReason));

    public void ConnectionOpened(string side, string encryption)
    {
        _openedConnections.Add(1, new(Tags.Side, side), new(Tags.Encryption, encryption));
        _activeConnections.Add(1, new(Tags.Side, side), new(Tags.Encryption, encryption));
    }

    public void ConnectionClosed(string side, string encryption, string end)
    {
        _activeConnections.Add(-1, new(Tags.Side, side), new(Tags.Encryption, encryption));
        _closedConnections.Add(1, new(Tags.Side, side), new(Tags.Encryption, encryption), new(Tags.End, end));
    }

    /// <summary>A connection was asked to drain (<paramref name="closed"/> false), or closed by the transport when its grace ran out (true).</summary>
    public void Drain(string side, string reason, bool closed)
        => _drains.Add(1, new(Tags.Side, side), new(Tags.DrainReason, reason), new(Tags.DrainStep, closed ? "closed" : "requested"));

    /// <summary>A connection keeper opened a connection, for <paramref name="cause"/>: first, reconnect or hand_over.</summary>
    public void KeeperConnected(string cause) => _keeperConnects.Add(1, new KeyValuePair<string, object?>(Tags.KeeperCause, cause));

    /// <summary>A connection keeper's attempt failed.</summary>
    public void KeeperConnectFailed() => _keeperFailures.Add(1);

    /// <summary>A certificate was replaced. <paramref name="side"/> is null when the source does not know it (a Secret folder).</summary>
    public void Rotated(string source, string kind, string? side)
        => _rotations.Add(1, CertificateTags(source, kind, side));

    public void RotationFailed(string source, string kind, string? side)
        => _rotationFailures.Add(1, CertificateTags(source, kind, side));

    /// <summary>A step of a Secret folder's root handover: counted as a root rotation, with the step.</summary>
    public void HandoverStep(string step)
    {
        var tags = CertificateTags(Tags.SecretFolder, Tags.Root, side: null);
        tags.Add(Tags.HandoverStep, step);
        _rotations.Add(1, tags);
    }

    private static TagList CertificateTags(string source, string kind, string? side)
    {
        var tags = new TagList { { Tags.CertificateSource, source }, { Tags.CertificateKind, kind } };
        if (side is not null)
        {
            tags.Add(Tags.Side, side);
        }

        return tags;
    }

    /// <summary>Tag names and values, shared so that the hot paths box nothing.</summary>
    internal static class Tags
    {
        public const string Side = "broker.transport.side";
        public const string Outcome = "broker.transport.handshake.outcome";
        public const string Reason = "broker.transport.handshake.reason";
        public const string Encryption = "broker.transport.encryption";
        public const string CertificateSource = "broker.transport.certificate.source";
        public const string CertificateKind = "broker.transport.certificate.kind";
        public const string End = "broker.transport.connection.end";
        public const string HandoverStep = "broker.transport.certificate.handover.step";
        public const string DrainReason = "broker.transport.drain.reason";
        public const string DrainStep = "broker.transport.drain.step";
        public const string KeeperCause = "broker.transport.keeper.cause";

        public const string Backend = "backend";
        public const string Frontend = "frontend";
        public const string Enabled = "enabled";
        public const string Disabled = "disabled";
        public const string Issuer = Certificates.CertificateTags.Issuer;
        public const string SecretFolder = Certificates.CertificateTags.SecretFolder;
        public const string Leaf = Certificates.CertificateTags.Leaf;
        public const string Root = Certificates.CertificateTags.Root;
        public const string TrustBundle = Certificates.CertificateTags.TrustBundle;

        // A root handover's steps.
        public const string Started = Certificates.CertificateTags.Started;
        public const string Switched = Certificates.CertificateTags.Switched;
        public const string Retired = Certificates.CertificateTags.Retired;
        public const string Interrupted = Certificates.CertificateTags.Interrupted;
        public const string CutShort = Certificates.CertificateTags.CutShort;
        public const string AtOnce = Certificates.CertificateTags.AtOnce;

        // How a connection's input ended.
        public const string Clean = "clean";
        public const string Truncated = "truncated";
        public const string Reset = "reset";
        public const string Aborted = "aborted";
        public const string Mismatch = "mismatch";
        public const string Refused = "refused";
        public const string Failed = "failed";
    }
}
