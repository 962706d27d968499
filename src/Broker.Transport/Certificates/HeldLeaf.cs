using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// A leaf a Secret folder source presents, or holds back during a root handover, with the root its chain ends in.
/// The source holds its key (through <see cref="OwnedLeaf"/>) for as long as it keeps the leaf, and every credentials
/// version made with it holds it too, so that a leaf republished with a new trust bundle, or one that never got
/// presented, is disposed exactly once: when neither the source nor any handshake holds it.
/// </summary>
internal sealed class HeldLeaf
{
    private readonly OwnedLeaf _owner;
    private bool _released;

    public HeldLeaf(X509Certificate2 leaf, X509Certificate2Collection intermediates, X509Certificate2 root)
    {
        Leaf = leaf;
        Intermediates = intermediates;
        Root = root;
        _owner = new OwnedLeaf(leaf, intermediates);
        _owner.Hold();

        // Copies, readable once the leaf is disposed (a version replaced under a reader).
        Thumbprint = leaf.Thumbprint;
        Subject = leaf.Subject;
        NotAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        RawData = leaf.RawData;
    }

    public X509Certificate2 Leaf { get; }

    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The root its chain ends in (from the trust bundle, or the Secret's <c>ca.crt</c>).</summary>
    public X509Certificate2 Root { get; }

    public string Thumbprint { get; }

    public string Subject { get; }

    public DateTimeOffset NotAfter { get; }

    private byte[] RawData { get; }

    /// <summary>Whether <paramref name="certificate"/> is this leaf (the same bytes).</summary>
    public bool IsSame(X509Certificate2 certificate) => certificate.RawDataMemory.Span.SequenceEqual(RawData);

    /// <summary>A credentials version of this leaf with <paramref name="trust"/>: it holds the key until it is finished.</summary>
    public CertificateCredentials Version(X509Certificate2Collection trust) => new(Leaf, Intermediates, trust, _owner);

    /// <summary>The source keeps this leaf no more: once no version holds it either, its key is disposed.</summary>
    public void Release()
    {
        if (!_released)
        {
            _released = true;
            _owner.LetGo();
        }
    }
}
