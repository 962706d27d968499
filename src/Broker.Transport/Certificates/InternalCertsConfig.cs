namespace Broker.Transport.Certificates;

/// <summary>
/// The internal certificates' settings: the Broker resource's <c>advanced.internalCerts</c>, which AIO hands
/// to cert-manager, and which this library's issuer follows with cert-manager's semantics. Immutable; the
/// constructor enforces cert-manager's limits.
/// </summary>
/// <remarks>
/// The product page gives no defaults (in the file, all four fields are required once <c>internalCerts</c>
/// is given). The defaults of <see cref="Default"/>, used when the file has no <c>internalCerts</c>, are
/// ours, taken from cert-manager: 2160h (90 days), renewal at 2/3 of the lifetime, <see cref="PrivateKeyAlgorithm.Ec256"/>
/// (our choice: fast handshakes, small certificates) and <see cref="RotationPolicy.Always"/>.
/// </remarks>
public sealed record InternalCertsConfig
{
    /// <summary>The shortest certificate lifetime cert-manager accepts: 1 hour.</summary>
    public static readonly TimeSpan MinimumDuration = TimeSpan.FromHours(1);

    /// <summary>The shortest <see cref="RenewBefore"/> cert-manager accepts: 5 minutes.</summary>
    public static readonly TimeSpan MinimumRenewBefore = TimeSpan.FromMinutes(5);

    /// <summary>Our default lifetime, cert-manager's: 2160h (90 days).</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromHours(2160);

    /// <summary>
    /// Our defaults, used when the file has no <c>internalCerts</c>: <see cref="DefaultDuration"/> (2160h),
    /// <see cref="RenewBefore"/> null (renew at 2/3 of the lifetime, as cert-manager when <c>renewBefore</c>
    /// is unset), <see cref="PrivateKeyAlgorithm.Ec256"/>, <see cref="RotationPolicy.Always"/>.
    /// </summary>
    public static InternalCertsConfig Default { get; } = new(DefaultDuration, null, PrivateKeyAlgorithm.Ec256, RotationPolicy.Always);

    /// <summary>Creates the settings, checking cert-manager's limits.</summary>
    /// <param name="duration">The certificates' requested lifetime; at least <see cref="MinimumDuration"/>.</param>
    /// <param name="renewBefore">How long before expiry to renew; at least <see cref="MinimumRenewBefore"/> and shorter than <paramref name="duration"/>. Null: at 2/3 of the lifetime.</param>
    /// <param name="algorithm">The private key algorithm. <see cref="PrivateKeyAlgorithm.Ed25519"/> is accepted here, as the Broker resource accepts it; <c>BrokerConfig.EnsureSupported</c> and the issuer refuse it.</param>
    /// <param name="rotationPolicy">Whether each renewal makes a new private key.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside cert-manager's limits or not a defined enum value.</exception>
    public InternalCertsConfig(TimeSpan duration, TimeSpan? renewBefore, PrivateKeyAlgorithm algorithm, RotationPolicy rotationPolicy)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, MinimumDuration);
        if (renewBefore is { } before)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(before, MinimumRenewBefore, nameof(renewBefore));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(before, duration, nameof(renewBefore));
        }

        if (!Enum.IsDefined(algorithm))
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Not a defined private key algorithm.");
        }

        if (!Enum.IsDefined(rotationPolicy))
        {
            throw new ArgumentOutOfRangeException(nameof(rotationPolicy), rotationPolicy, "Not a defined rotation policy.");
        }

        Duration = duration;
        RenewBefore = renewBefore;
        Algorithm = algorithm;
        RotationPolicy = rotationPolicy;
    }

    /// <summary>The certificates' requested lifetime (<c>internalCerts.duration</c>). Defaults to 2160h (90 days), cert-manager's default; ours, the product page gives none.</summary>
    public TimeSpan Duration { get; }

    /// <summary>
    /// How long before a certificate's expiry to renew it (<c>internalCerts.renewBefore</c>). Null, the
    /// default (ours, the product page gives none), means what cert-manager does when <c>renewBefore</c> is
    /// unset: renew at 2/3 of the certificate's lifetime. See <see cref="RenewalTime"/>.
    /// </summary>
    public TimeSpan? RenewBefore { get; }

    /// <summary>The private key algorithm (<c>internalCerts.privateKey.algorithm</c>). Defaults to <see cref="PrivateKeyAlgorithm.Ec256"/>; ours, the product page gives none.</summary>
    public PrivateKeyAlgorithm Algorithm { get; }

    /// <summary>Whether each renewal makes a new private key (<c>internalCerts.privateKey.rotationPolicy</c>). Defaults to <see cref="RotationPolicy.Always"/>, cert-manager's default since v1.18; ours, the product page gives none.</summary>
    public RotationPolicy RotationPolicy { get; }

    /// <summary>
    /// When a certificate valid from <paramref name="notBefore"/> to <paramref name="notAfter"/> is due for
    /// renewal, with cert-manager's rule: <c>notAfter - renewBefore</c>, or <c>notAfter - lifetime/3</c> (2/3 of
    /// the lifetime) when <see cref="RenewBefore"/> is null or not shorter than the lifetime actually issued;
    /// truncated to the second.
    /// </summary>
    /// <remarks>The lifetime is the certificate's, not <see cref="Duration"/>: an issuer may cut it short (a leaf never outlives its CA).</remarks>
    /// <param name="notBefore">The certificate's start of validity.</param>
    /// <param name="notAfter">The certificate's end of validity.</param>
    /// <returns>The renewal time, in <paramref name="notAfter"/>'s offset.</returns>
    /// <exception cref="ArgumentException"><paramref name="notAfter"/> is not after <paramref name="notBefore"/>.</exception>
    public DateTimeOffset RenewalTime(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var lifetime = notAfter - notBefore;
        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException($"The certificate's notAfter ({notAfter:O}) must be after its notBefore ({notBefore:O}).", nameof(notAfter));
        }

        var before = RenewBefore is { } renewBefore && renewBefore < lifetime
            ? renewBefore
            : TimeSpan.FromTicks(lifetime.Ticks / 3); // integer division, as Go's Duration / 3 (TimeSpan / double rounds)
        var renewal = notAfter - before;

        // cert-manager truncates to the second (cert-manager#4399): the time is stored on the Certificate's status at that precision.
        return renewal.AddTicks(-(renewal.Ticks % TimeSpan.TicksPerSecond));
    }
}
