namespace Broker.Transport.Connections;

/// <summary>
/// How a <see cref="ConnectionKeeper"/> reconnects: gRPC's connection-backoff algorithm. After a failed attempt it
/// waits <see cref="InitialBackoff"/>, then <see cref="Multiplier"/> times longer after each further failure, up to
/// <see cref="MaxBackoff"/>, each wait spread by plus or minus <see cref="Jitter"/>; a success starts over.
/// </summary>
public sealed class ConnectionKeeperOptions
{
    /// <summary>The wait after the first failed attempt. Defaults to 1 second (gRPC's INITIAL_BACKOFF).</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How much longer each further wait is. Defaults to 1.6 (gRPC's MULTIPLIER).</summary>
    public double Multiplier { get; set; } = 1.6;

    /// <summary>The fraction each wait is spread by, either way, so that frontends do not retry in step. Defaults to 0.2 (gRPC's JITTER).</summary>
    public double Jitter { get; set; } = 0.2;

    /// <summary>The longest wait between attempts. Defaults to 120 seconds (gRPC's MAX_BACKOFF).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Where this part logs, what it measures with, and its clock (every timeout, timer and validity check).
    /// Defaults to <see cref="TransportEnvironment.Default"/>: no logs, the process-wide meter, the system clock. Give
    /// the sources, the listener, the connector and the keepers of a process the same one.
    /// </summary>
    public TransportEnvironment Environment { get; set; } = TransportEnvironment.Default;

    internal TimeProvider TimeProvider => Environment.TimeProvider;

    internal Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory => Environment.LoggerFactory;

    internal System.Diagnostics.Metrics.IMeterFactory? MeterFactory => Environment.MeterFactory;

    /// <summary>Checks the values, with a message that names the field.</summary>
    internal void Validate()
    {
        if (InitialBackoff <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(InitialBackoff)} is {InitialBackoff}; it must be positive.");
        }

        if (MaxBackoff < InitialBackoff)
        {
            throw new ArgumentException($"{nameof(MaxBackoff)} is {MaxBackoff}; it must be at least {nameof(InitialBackoff)} ({InitialBackoff}).");
        }

        if (!(Multiplier >= 1))
        {
            throw new ArgumentException($"{nameof(Multiplier)} is {Multiplier}; it must be at least 1.");
        }

        if (!(Jitter is >= 0 and < 1))
        {
            throw new ArgumentException($"{nameof(Jitter)} is {Jitter}; it must be at least 0 and less than 1.");
        }

        ArgumentNullException.ThrowIfNull(Environment, nameof(Environment));
        ArgumentNullException.ThrowIfNull(Environment.TimeProvider, nameof(TransportEnvironment.TimeProvider));
    }

    /// <summary>The wait before attempt number <paramref name="failures"/> + 1, before jitter: InitialBackoff x Multiplier^(failures - 1), at most MaxBackoff.</summary>
    internal TimeSpan BackoffAfter(int failures)
    {
        var seconds = InitialBackoff.TotalSeconds * Math.Pow(Multiplier, Math.Max(0, failures - 1));
        return seconds >= MaxBackoff.TotalSeconds ? MaxBackoff : TimeSpan.FromSeconds(seconds);
    }
}
