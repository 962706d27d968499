namespace Broker.Transport.Certificates;

/// <summary>
/// A root handover in progress at a <see cref="SecretFolderCertificateSource"/> (see
/// <see cref="SecretFolderOptions.RootHandover"/>): first a leaf from a root new to this side waits while the
/// previous leaf is presented (<see cref="SwitchAt"/>); then the roots this side no longer uses stay trusted for
/// peers that have not moved yet (<see cref="RetiringRoots"/>), until <see cref="EndsAt"/>.
/// </summary>
/// <param name="EndsAt">When the last retiring root leaves the trust bundle (UTC): the handover is over then.</param>
/// <param name="SwitchAt">When the waiting leaf replaces the one presented (UTC); null once it has (or when none waits).</param>
/// <param name="PresentedThumbprint">The leaf handshakes get now.</param>
/// <param name="PendingThumbprint">The leaf that waits for <paramref name="SwitchAt"/>; null when none does.</param>
/// <param name="RetiringRoots">The roots trusted now that leave the bundle during the handover, each with the time it goes.</param>
public sealed record RootHandoverStatus(
    DateTimeOffset EndsAt,
    DateTimeOffset? SwitchAt,
    string PresentedThumbprint,
    string? PendingThumbprint,
    IReadOnlyList<RetiringRoot> RetiringRoots);

/// <summary>A root that stays trusted for a while after it left the trust bundle, for peers that still present a leaf it signed.</summary>
/// <param name="Subject">The root's subject.</param>
/// <param name="Thumbprint">The root's SHA-1 thumbprint, as <see cref="System.Security.Cryptography.X509Certificates.X509Certificate2.Thumbprint"/>.</param>
/// <param name="TrustedUntil">When it leaves (UTC).</param>
public sealed record RetiringRoot(string Subject, string Thumbprint, DateTimeOffset TrustedUntil);
