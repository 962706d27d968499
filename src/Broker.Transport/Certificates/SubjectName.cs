using System.Net;

namespace Broker.Transport.Certificates;

/// <summary>What kind of subject alternative name a written name is.</summary>
internal enum SubjectNameKind
{
    /// <summary>A DNS name (dNSName).</summary>
    Dns,

    /// <summary>An IP address (iPAddress).</summary>
    IPAddress,

    /// <summary>A URI (uniformResourceIdentifier), such as a SPIFFE ID.</summary>
    Uri,
}

/// <summary>
/// The one rule for reading a written name (an identity, a name to issue for) as a URI, an IP address or a DNS
/// name, so the issuer, the CLI's PKI and the peer identity cannot sort the same text differently.
/// </summary>
internal static class SubjectName
{
    /// <summary>
    /// A name holding "://" is a URI; else one <see cref="System.Net.IPAddress.TryParse(string?, out System.Net.IPAddress?)"/>
    /// reads is an IP address (<paramref name="address"/>, as parsed); else a DNS name.
    /// </summary>
    public static SubjectNameKind Classify(string name, out IPAddress? address)
    {
        if (name.Contains("://", StringComparison.Ordinal))
        {
            address = null;
            return SubjectNameKind.Uri;
        }

        return IPAddress.TryParse(name, out address) ? SubjectNameKind.IPAddress : SubjectNameKind.Dns;
    }

    /// <summary>Sorts <paramref name="names"/> into a leaf's DNS names, URIs and IP addresses, in their order.</summary>
    public static (List<string> DnsNames, List<string> Uris, List<IPAddress> IPAddresses) Sort(IEnumerable<string> names)
    {
        List<string> dns = [];
        List<string> uris = [];
        List<IPAddress> addresses = [];
        foreach (var name in names)
        {
            switch (Classify(name, out var address))
            {
                case SubjectNameKind.Uri:
                    uris.Add(name);
                    break;
                case SubjectNameKind.IPAddress:
                    addresses.Add(address!);
                    break;
                default:
                    dns.Add(name);
                    break;
            }
        }

        return (dns, uris, addresses);
    }
}
