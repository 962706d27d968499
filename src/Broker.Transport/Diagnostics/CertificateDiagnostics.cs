using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Broker.Transport.Certificates;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Diagnostics;

/// <summary>
/// Observes the certificate sources: each event a source raises becomes a log line (<see cref="CertificateLog"/>,
/// <see cref="TrustLog"/>) or a count of the meter (<see cref="TransportMetrics"/>).
/// </summary>
internal sealed class CertificateDiagnostics : ICertificateEvents
{
    private readonly CertificateLog _log;
    private readonly TrustLog _trust;
    private readonly TransportMetrics _metrics;

    private CertificateDiagnostics(ILoggerFactory? loggers, IMeterFactory? meters)
    {
        _log = CertificateLog.Create(loggers);
        _trust = TrustLog.Create(loggers);
        _metrics = TransportMetrics.For(meters);
    }

    /// <summary>
    /// Makes Diagnostics the observer of every certificate source. The sources sit below this layer and take
    /// their logger and meter factories in their own options, so the one way for them to reach it without
    /// depending on it is a factory this layer sets as the assembly loads.
    /// </summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "It registers this assembly's own Diagnostics with this assembly's own certificate layer (dependency inversion inside one assembly); it touches no other assembly and does no I/O.")]
    internal static void Register() => CertificateEvents.Factory = static (loggers, meters) => new CertificateDiagnostics(loggers, meters);

    public void LeafRenewed(string role, string oldThumbprint, DateTimeOffset oldNotAfter, string newThumbprint, DateTimeOffset notAfter) => _log.LeafRenewed(role, oldThumbprint, oldNotAfter, newThumbprint, notAfter);
    public void RenewalFailed(string role, int attempt, TimeSpan retryIn, string error) => _log.RenewalFailed(role, attempt, retryIn, error);
    public void RootRolloverStarted(string oldThumbprint, string newThumbprint, DateTimeOffset oldRootRetires) => _log.RootRolloverStarted(oldThumbprint, newThumbprint, oldRootRetires);
    public void RootRetired(string thumbprint) => _log.RootRetired(thumbprint);
    public void RootRolloverFailed(string thumbprint, string error) => _log.RootRolloverFailed(thumbprint, error);
    public void FolderReloaded(string folder, string oldThumbprint, DateTimeOffset oldNotAfter, string newThumbprint, DateTimeOffset notAfter) => _log.FolderReloaded(folder, oldThumbprint, oldNotAfter, newThumbprint, notAfter);
    public void FolderRefused(string folder, string thumbprint, string error) => _log.FolderRefused(folder, thumbprint, error);
    public void BundleReloaded(string source, string added, string removed) => _trust.BundleReloaded(source, added, removed);
    public void HandoverStarted(string folder, string newThumbprint, string root, DateTimeOffset rootTrustedSince, string oldThumbprint, DateTimeOffset switchAt, TimeSpan rootHandover) => _trust.HandoverStarted(folder, newThumbprint, root, rootTrustedSince, oldThumbprint, switchAt, rootHandover);
    public void HandoverSwitched(string folder, string newThumbprint, DateTimeOffset notAfter, string root, string oldThumbprint, DateTimeOffset endsAt) => _trust.HandoverSwitched(folder, newThumbprint, notAfter, root, oldThumbprint, endsAt);
    public void RootsRetired(string folder, string roots, TimeSpan rootHandover, string finished) => _trust.RootsRetired(folder, roots, rootHandover, finished);
    public void HandoverInterrupted(string folder, string pendingThumbprint, string outcome) => _trust.HandoverInterrupted(folder, pendingThumbprint, outcome);
    public void HandoverCutShort(string folder, string oldThumbprint, DateTimeOffset oldNotAfter, DateTimeOffset switchAt, string newThumbprint, string root) => _trust.HandoverCutShort(folder, oldThumbprint, oldNotAfter, switchAt, newThumbprint, root);
    public void BundleRefused(string path, string error) => _trust.BundleRefused(path, error);
    public void SwitchedAtOnce(string folder, string newThumbprint, string root, string oldThumbprint, string removed) => _trust.SwitchedAtOnce(folder, newThumbprint, root, oldThumbprint, removed);

    public void Rotated(string source, string kind, string? side) => _metrics.Rotated(source, kind, side);

    public void RotationFailed(string source, string kind, string? side) => _metrics.RotationFailed(source, kind, side);

    public void HandoverStep(string step) => _metrics.HandoverStep(step);
}
