using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Security;

/// <summary>What a peer's certificate says about who it is.</summary>
public sealed class PeerCertificateInfo
{
    private const string SubjectAlternativeNameOid = "2.5.29.17";

    private PeerCertificateInfo(X509Certificate2 certificate, IReadOnlyList<string> dnsNames, IReadOnlyList<string> uris, IReadOnlyList<IPAddress> ipAddresses, ChainRoot? root)
    {
        Certificate = certificate;
        Root = root;
        DnsNames = dnsNames;
        Uris = uris;
        IPAddresses = ipAddresses;
    }

    /// <summary>The certificate itself.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The subject's distinguished name.</summary>
    public string Subject => Certificate.Subject;

    /// <summary>The DNS names in the subject alternative name extension.</summary>
    public IReadOnlyList<string> DnsNames { get; }

    /// <summary>The URIs in the subject alternative name extension (for example a SPIFFE id).</summary>
    public IReadOnlyList<string> Uris { get; }

    /// <summary>The IP addresses in the subject alternative name extension.</summary>
    public IReadOnlyList<IPAddress> IPAddresses { get; }

    /// <summary>The SHA-256 thumbprint, in hexadecimal.</summary>
    public string Thumbprint => Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);

    /// <summary>When the certificate stops being valid.</summary>
    public DateTimeOffset NotAfter => new(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>When the certificate starts being valid.</summary>
    public DateTimeOffset NotBefore => new(Certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>
    /// The root of the trust bundle that the peer's chain ended in when it was verified; null for a certificate read
    /// outside a handshake (<see cref="From(X509Certificate2)"/>). A connection lasts no longer than this root's trust.
    /// </summary>
    public ChainRoot? Root { get; }

    /// <summary>Reads the names out of <paramref name="certificate"/>.</summary>
    public static PeerCertificateInfo From(X509Certificate2 certificate) => From(certificate, null);

    /// <summary>Reads the names out of a verified peer's <paramref name="certificate"/>, whose chain ended in <paramref name="root"/>.</summary>
    internal static PeerCertificateInfo From(X509Certificate2 certificate, ChainRoot? root)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var dns = new List<string>();
        var uris = new List<string>();
        var ips = new List<IPAddress>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value == SubjectAlternativeNameOid)
            {
                ReadNames(extension.RawData, dns, uris, ips);
            }
        }

        return new PeerCertificateInfo(certificate, dns, uris, ips, root);
    }

    /// <summary>
    /// Whether the certificate carries <paramref name="name"/> exactly, as an allow-list entry is matched: a DNS
    /// name case-insensitively (a wildcard name in the certificate never matches), a URI byte for byte, an IP
    /// address only when <paramref name="name"/> is one written in canonical form (<c>127.0.0.1</c>, not <c>127.1</c>).
    /// </summary>
    public bool Matches(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return PeerIdentity.TryParse(name, out var identity, out _) && identity.IsCarriedExactlyBy(this);
    }

    /// <summary>
    /// The subject and the names, as <c>CN=frontend [DNS:frontend, IP:127.0.0.1]</c>; control characters (which the
    /// peer chose) escaped as <c>\xNN</c>, each part and the list of names cut after a bound, so it is safe in a log line.
    /// </summary>
    public override string ToString()
    {
        var names = DnsNames.Select(d => "DNS:" + d).Concat(IPAddresses.Select(i => "IP:" + i)).Concat(Uris.Select(u => "URI:" + u));
        return $"{CertificateText.Escape(Subject)} [{CertificateText.List(names)}]";
    }

    // GeneralNames ::= SEQUENCE OF GeneralName; dNSName is [2] IA5String, uniformResourceIdentifier is [6]
    // IA5String, iPAddress is [7] OCTET STRING of 4 or 16 bytes (RFC 5280, 4.2.1.6).
    private static void ReadNames(byte[] raw, List<string> dns, List<string> uris, List<IPAddress> ips)
    {
        try
        {
            var reader = new AsnReader(raw, AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            while (sequence.HasData)
            {
                var tag = sequence.PeekTag();
                if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 7 && !tag.IsConstructed)
                {
                    var bytes = sequence.ReadOctetString(tag);
                    if (bytes.Length is 4 or 16)
                    {
                        ips.Add(new IPAddress(bytes));
                    }
                }
                else if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue is 2 or 6 && !tag.IsConstructed)
                {
                    var value = sequence.ReadCharacterString(UniversalTagNumber.IA5String, tag);
                    (tag.TagValue == 2 ? dns : uris).Add(value);
                }
                else
                {
                    sequence.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException)
        {
            // A malformed extension names nobody; the peer is then refused for its identity.
        }
    }
}
