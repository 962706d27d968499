using Microsoft.Extensions.Logging;

namespace Broker.Transport.Certificates;

/// <summary>Options of the <see cref="SecretFolderCertificateSource"/>.</summary>
public sealed class SecretFolderOptions
{
    /// <summary>
    /// How often the folder is read and compared with the set in use. Defaults to 10 seconds (ours): kubelet
    /// itself takes up to a minute or more to project a Secret update, so polling faster gains little.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The trust bundle, when it comes from elsewhere than the Secret's <c>ca.crt</c>: a PEM file of roots, or the
    /// folder a ConfigMap is mounted at (its <c>ca.crt</c>, else its only file), such as the one a trust-manager
    /// <c>Bundle</c> writes (Azure IoT Operations distributes its internal trust as the ConfigMap
    /// <c>azure-iot-operations-aio-ca-trust-bundle</c>, key <c>ca.crt</c>). Polled with the Secret, compared by
    /// content, validated, the last good one kept. With it, peers are trusted by the bundle's roots (and the root
    /// this side's own leaf chains to), the Secret's <c>ca.crt</c> is optional and only helps find that root.
    /// Defaults to null: the Secret's <c>ca.crt</c> is the trust bundle.
    /// </summary>
    public string? TrustBundlePath { get; set; }

    /// <summary>
    /// How long a root handover lasts. When an update brings a leaf whose chain ends in a root this side has not
    /// trusted for at least this long (a CA switched abruptly: leaf and <c>ca.crt</c> changed together), the new
    /// root is trusted at once but the previous leaf stays in use (while it is valid) until the new root has been
    /// trusted this long; and a root that leaves the trust bundle (or whose leaf this side stops presenting) stays
    /// trusted this long after. Peers whose own update comes later thus trust the new root before they meet a leaf
    /// it signed, and their leaves of the old root are honoured until they have moved too.
    /// Defaults to 2 minutes: kubelet's sync period (1 minute) plus its cache delay (up to a minute more), the
    /// spread between the moments two pods see the same Secret or ConfigMap update. Set it to at least that spread
    /// plus <see cref="PollInterval"/>. <see cref="TimeSpan.Zero"/> switches at once and drops removed roots at
    /// once: the emergency setting, after a root's key was compromised, when keeping the old root trusted is worse
    /// than refusing the peers that have not moved yet.
    /// </summary>
    public TimeSpan RootHandover { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long one read of the three files (or of the trust bundle) may take before the poll gives up on it. Defaults to 5 seconds
    /// (ours): the files are small and local (a Secret volume is tmpfs), so a read that takes longer is stuck (a
    /// hung network or FUSE mount). A stuck read is not started again while it is pending: polls go on, report
    /// it once, and take the next valid update once the folder answers.
    /// </summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Where this part logs, what it measures with, and its clock (every timeout, timer and validity check).
    /// Defaults to <see cref="TransportEnvironment.Default"/>: no logs, the process-wide meter, the system clock. Give
    /// the sources, the listener, the connector and the keepers of a process the same one.
    /// </summary>
    public TransportEnvironment Environment { get; set; } = TransportEnvironment.Default;

    internal TimeProvider TimeProvider => Environment.TimeProvider;

    internal Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory => Environment.LoggerFactory;

    internal System.Diagnostics.Metrics.IMeterFactory? MeterFactory => Environment.MeterFactory;
}
