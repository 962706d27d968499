using Microsoft.Extensions.Logging;

namespace Broker.Transport.Certificates;

/// <summary>Options of the <see cref="InternalIssuer"/>, the embedded CA that is the default on one machine.</summary>
public sealed class InternalIssuerOptions
{
    /// <summary>
    /// The leaves' lifetime, renewal point, key algorithm and key rotation: the Broker resource's
    /// <c>advanced.internalCerts</c>. Defaults to <see cref="InternalCertsConfig.Default"/> (2160h, renew at 2/3, Ec256, Always).
    /// </summary>
    public InternalCertsConfig Policy { get; set; } = InternalCertsConfig.Default;

    /// <summary>
    /// The root CA's lifetime. Defaults to null: the larger of 8760h (a year) and three leaf durations (ours;
    /// the product page is silent), so a leaf issued just before the root renews is never cut short.
    /// The root renews at 2/3 of its lifetime.
    /// </summary>
    public TimeSpan? CaDuration { get; set; }

    /// <summary>The root's common name. Defaults to "Broker.Transport Internal CA".</summary>
    public string CaName { get; set; } = "Broker.Transport Internal CA";

    /// <summary>
    /// The backend's identities: DNS names, IP addresses or URIs, written into its leaf's subject
    /// alternative names (server-authentication EKU). Defaults to <c>localhost</c> and <c>127.0.0.1</c>.
    /// </summary>
    public IList<string> BackendNames { get; } = new List<string> { "localhost", "127.0.0.1" };

    /// <summary>The frontend's identities (client-authentication EKU). Defaults to <c>frontend</c>.</summary>
    public IList<string> FrontendNames { get; } = new List<string> { "frontend" };

    /// <summary>
    /// How much earlier than cert-manager's renewal point a renewal may happen, as a fraction of the time
    /// between that point and expiry (or between issuance and that point, when that is shorter, so that a
    /// leaf is never due before it was issued); each renewal draws a random point in that window so that
    /// processes started together do not all renew at once. Defaults to 0.1. 0 renews exactly at the point.
    /// </summary>
    public double RenewalJitter { get; set; } = 0.1;

    /// <summary>The first wait before retrying a failed renewal; it doubles up to <see cref="MaxRetryDelay"/>. Defaults to 1 second.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between retries of a failed renewal. Defaults to 5 minutes.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The wait before the next try after <paramref name="failures"/> failures in a row: doubling from <see cref="RetryDelay"/>, capped at <see cref="MaxRetryDelay"/>.</summary>
    internal TimeSpan RetryDelayAfter(int failures) =>
        TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, RetryDelay.Ticks * (1L << Math.Clamp(failures - 1, 0, 30))));

    /// <summary>The root's lifetime after defaults.</summary>
    internal TimeSpan EffectiveCaDuration => CaDuration ?? TimeSpan.FromTicks(Math.Max(TimeSpan.FromHours(8760).Ticks, Policy.Duration.Ticks * 3));

    /// <summary>
    /// Where this part logs, what it measures with, and its clock (every timeout, timer and validity check).
    /// Defaults to <see cref="TransportEnvironment.Default"/>: no logs, the process-wide meter, the system clock. Give
    /// the sources, the listener, the connector and the keepers of a process the same one.
    /// </summary>
    public TransportEnvironment Environment { get; set; } = TransportEnvironment.Default;

    internal TimeProvider TimeProvider => Environment.TimeProvider;

    internal Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory => Environment.LoggerFactory;

    internal System.Diagnostics.Metrics.IMeterFactory? MeterFactory => Environment.MeterFactory;

    /// <summary>Checks the values once, at start, with a message that names the field.</summary>
    /// <exception cref="ArgumentException">A value is out of range, or the algorithm cannot be served.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Policy, nameof(Policy));
        if (!TlsKeyAlgorithms.CanServe(Policy.Algorithm))
        {
            throw new ArgumentException($"Policy.Algorithm is {Policy.Algorithm}, which this transport cannot use for TLS: {TlsKeyAlgorithms.WhyNot(Policy.Algorithm)}");
        }

        if (EffectiveCaDuration < Policy.Duration)
        {
            throw new ArgumentException($"{nameof(CaDuration)} is {CaDuration}; it must be at least the leaves' duration ({Policy.Duration}), or leaves would be cut short.");
        }

        if (BackendNames.Count == 0 || FrontendNames.Count == 0)
        {
            throw new ArgumentException($"{nameof(BackendNames)} and {nameof(FrontendNames)} must each name at least one identity.");
        }

        if (RenewalJitter is < 0 or > 0.5 || double.IsNaN(RenewalJitter))
        {
            throw new ArgumentException($"{nameof(RenewalJitter)} is {RenewalJitter}; it must be between 0 and 0.5.");
        }

        if (RetryDelay <= TimeSpan.Zero || MaxRetryDelay < RetryDelay)
        {
            throw new ArgumentException($"{nameof(RetryDelay)} ({RetryDelay}) must be positive and not above {nameof(MaxRetryDelay)} ({MaxRetryDelay}).");
        }

        ArgumentNullException.ThrowIfNull(Environment, nameof(Environment));
        ArgumentNullException.ThrowIfNull(Environment.TimeProvider, nameof(TransportEnvironment.TimeProvider));
    }
}
