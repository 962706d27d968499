using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Certificates;

/// <summary>
/// What a certificate source tells whoever observes it: each log-worthy step and each count of the
/// <c>Broker.Transport</c> meter's rotation instruments. Sources raise these and hold no log or metrics
/// class; Diagnostics implements the interface (its <c>CertificateDiagnostics</c>), so this layer never
/// depends on that one. Thumbprints, dates and messages only: never key material.
/// </summary>
internal interface ICertificateEvents
{
    void LeafRenewed(string role, string oldThumbprint, DateTimeOffset oldNotAfter, string newThumbprint, DateTimeOffset notAfter);
    void RenewalFailed(string role, int attempt, TimeSpan retryIn, string error);
    void RootRolloverStarted(string oldThumbprint, string newThumbprint, DateTimeOffset oldRootRetires);
    void RootRetired(string thumbprint);
    void RootRolloverFailed(string thumbprint, string error);
    void FolderReloaded(string folder, string oldThumbprint, DateTimeOffset oldNotAfter, string newThumbprint, DateTimeOffset notAfter);
    void FolderRefused(string folder, string thumbprint, string error);
    void BundleReloaded(string source, string added, string removed);
    void HandoverStarted(string folder, string newThumbprint, string root, DateTimeOffset rootTrustedSince, string oldThumbprint, DateTimeOffset switchAt, TimeSpan rootHandover);
    void HandoverSwitched(string folder, string newThumbprint, DateTimeOffset notAfter, string root, string oldThumbprint, DateTimeOffset endsAt);
    void RootsRetired(string folder, string roots, TimeSpan rootHandover, string finished);
    void HandoverInterrupted(string folder, string pendingThumbprint, string outcome);
    void HandoverCutShort(string folder, string oldThumbprint, DateTimeOffset oldNotAfter, DateTimeOffset switchAt, string newThumbprint, string root);
    void BundleRefused(string path, string error);
    void SwitchedAtOnce(string folder, string newThumbprint, string root, string oldThumbprint, string removed);

    /// <summary>A certificate was replaced. <paramref name="side"/> is null when the source does not know it (a Secret folder).</summary>
    void Rotated(string source, string kind, string? side);

    /// <summary>Replacing a certificate failed; the current one stays.</summary>
    void RotationFailed(string source, string kind, string? side);

    /// <summary>A step of a Secret folder's root handover (one of the <see cref="CertificateTags"/> steps).</summary>
    void HandoverStep(string step);
}

/// <summary>
/// Where a source gets its observer from its options' logger and meter factories. Diagnostics sets
/// <see cref="Factory"/> when the assembly loads (its module initializer), before any source can be made;
/// until then, and for a source with neither factory, events go nowhere.
/// </summary>
internal static class CertificateEvents
{
    /// <summary>Makes the observer for a source's logger and meter factories.</summary>
    public static Func<ILoggerFactory?, IMeterFactory?, ICertificateEvents>? Factory { get; set; }

    /// <summary>The observer for a source with these factories.</summary>
    public static ICertificateEvents For(ILoggerFactory? loggers, IMeterFactory? meters)
        => Factory?.Invoke(loggers, meters) ?? throw new InvalidOperationException("Broker.Transport's diagnostics did not register (its module initializer did not run).");
}

/// <summary>The values of the rotation instruments' tags that a source names (the meter's own tags are in Diagnostics).</summary>
internal static class CertificateTags
{
    public const string Issuer = "issuer";
    public const string SecretFolder = "secret_folder";
    public const string Leaf = "leaf";
    public const string Root = "root";
    public const string TrustBundle = "trust_bundle";

    // A root handover's steps.
    public const string Started = "started";
    public const string Switched = "switched";
    public const string Retired = "retired";
    public const string Interrupted = "interrupted";
    public const string CutShort = "cut_short";
    public const string AtOnce = "at_once";
}
