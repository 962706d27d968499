namespace Broker.Transport.Certificates;

/// <summary>
/// When a root is due for renewal: at two thirds of its lifetime, cert-manager's rule without renewBefore. The
/// issuer arms its rollover with it and certificate health calls a root late by it, so the two agree.
/// </summary>
internal static class RootRenewal
{
    /// <summary>Two thirds of the way from <paramref name="notBefore"/> to <paramref name="notAfter"/>, in whole ticks (integer division, as Go's).</summary>
    public static DateTimeOffset At(DateTimeOffset notBefore, DateTimeOffset notAfter)
        => notBefore + TimeSpan.FromTicks((notAfter - notBefore).Ticks * 2 / 3);
}
