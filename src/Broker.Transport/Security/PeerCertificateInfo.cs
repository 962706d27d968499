using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Security;

/// <summary>What a peer's certificate says about who it is.</summary>
public sealed class PeerCertificateInfo
{
    private const string SubjectAlternativeNameOid = "2.5.29.17";

    private PeerCertificateInfo(X509Certificate2 certificate, IReadOnlyList<string> dnsNames, IReadOnlyList<string> uris, IReadOnlyList<IPAddress> ipAddresses)
    {
        Certificate = certificate;
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

    /// <summary>Reads the names out of <paramref name="certificate"/>.</summary>
    public static PeerCertificateInfo From(X509Certificate2 certificate)
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

        return new PeerCertificateInfo(certificate, dns, uris, ips);
    }

    /// <summary>Whether <paramref name="name"/> is one of the certificate's DNS names (case-insensitive, <c>*.</c> wildcards in the first label), IP addresses or URIs (exact).</summary>
    public bool Matches(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (IPAddress.TryParse(name, out var address))
        {
            return IPAddresses.Contains(address);
        }

        if (name.Contains("://", StringComparison.Ordinal))
        {
            return Uris.Contains(name, StringComparer.Ordinal);
        }

        foreach (var dns in DnsNames)
        {
            if (string.Equals(dns, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (dns.StartsWith("*.", StringComparison.Ordinal))
            {
                var dot = name.IndexOf('.', StringComparison.Ordinal);
                if (dot > 0 && string.Equals(dns[1..], name[dot..], StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var names = string.Join(", ", DnsNames.Select(d => "DNS:" + d).Concat(IPAddresses.Select(i => "IP:" + i)).Concat(Uris.Select(u => "URI:" + u)));
        return $"{Subject} [{names}]";
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
