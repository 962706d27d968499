using System.Diagnostics.CodeAnalysis;
using System.Net;
using Broker.Transport.Certificates;

namespace Broker.Transport.Security;

/// <summary>What kind of subject alternative name an identity is matched against.</summary>
internal enum PeerIdentityKind
{
    /// <summary>A dNSName, compared case-insensitively.</summary>
    Dns,

    /// <summary>An iPAddress, compared as an address.</summary>
    IPAddress,

    /// <summary>A uniformResourceIdentifier (a SPIFFE id, say), compared byte for byte.</summary>
    Uri,
}

/// <summary>
/// One identity a peer's certificate must carry, typed once when the options are read: a DNS name, an IP
/// address or a URI. Identities match by type and exactly: an IP address only when it was written as one in
/// canonical form (<c>127.0.0.1</c>, never <c>127.1</c>), a URI byte for byte, a DNS name case-insensitively.
/// </summary>
internal sealed class PeerIdentity
{
    private PeerIdentity(PeerIdentityKind kind, string text, IPAddress? address)
    {
        Kind = kind;
        Text = text;
        Address = address;
    }

    public PeerIdentityKind Kind { get; }

    /// <summary>The identity as written.</summary>
    public string Text { get; }

    /// <summary>The address, for <see cref="PeerIdentityKind.IPAddress"/>.</summary>
    public IPAddress? Address { get; }

    /// <summary>Reads an identity written in options or on a command line.</summary>
    /// <param name="text">The identity.</param>
    /// <param name="identity">The typed identity, when valid.</param>
    /// <param name="problem">Why it is not valid: a sentence to put after the field's name.</param>
    public static bool TryParse(string? text, [NotNullWhen(true)] out PeerIdentity? identity, [NotNullWhen(false)] out string? problem)
    {
        identity = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "is empty; an identity is a DNS name, an IP address or a URI.";
            return false;
        }

        if (text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            problem = $"('{CertificateText.Escape(text)}') holds a space or a control character; an identity is a DNS name, an IP address or a URI.";
            return false;
        }

        var kind = SubjectName.Classify(text, out var address);
        if (kind == SubjectNameKind.Uri)
        {
            identity = new PeerIdentity(PeerIdentityKind.Uri, text, null);
            problem = null;
            return true;
        }

        if (kind == SubjectNameKind.IPAddress && address is not null)
        {
            var canonical = address.ToString();
            if (!string.Equals(canonical, text, StringComparison.OrdinalIgnoreCase))
            {
                problem = $"('{text}') reads as the IP address {canonical} but is not written in canonical form; write {canonical}. Identities match exactly.";
                return false;
            }

            identity = new PeerIdentity(PeerIdentityKind.IPAddress, canonical, address);
            problem = null;
            return true;
        }

        if (text.Contains('*', StringComparison.Ordinal))
        {
            problem = $"('{text}') holds a wildcard; an identity names one peer exactly (a certificate's wildcard name never satisfies it).";
            return false;
        }

        identity = new PeerIdentity(PeerIdentityKind.Dns, text, null);
        problem = null;
        return true;
    }

    /// <summary>Reads an identity, or throws an <see cref="ArgumentException"/> that names <paramref name="field"/>.</summary>
    public static PeerIdentity Parse(string? text, string field)
        => TryParse(text, out var identity, out var problem) ? identity : throw new ArgumentException($"{field} {problem}");

    /// <summary>
    /// The identity of the host a frontend connected to: an address in any form the resolver took is that
    /// address, written canonically.
    /// </summary>
    public static PeerIdentity ForHost(string host)
        => IPAddress.TryParse(host, out var address)
            ? new PeerIdentity(PeerIdentityKind.IPAddress, address.ToString(), address)
            : Parse(host, "The host connected to");

    /// <summary>
    /// Whether the certificate carries this identity exactly: the rule for an allow-list, which names exact
    /// identities. A wildcard name in the certificate never matches.
    /// </summary>
    public bool IsCarriedExactlyBy(PeerCertificateInfo peer) => Kind switch
    {
        PeerIdentityKind.IPAddress => peer.IPAddresses.Any(a => a.Equals(Address)),
        PeerIdentityKind.Uri => peer.Uris.Contains(Text, StringComparer.Ordinal),
        _ => peer.DnsNames.Any(d => string.Equals(d, Text, StringComparison.OrdinalIgnoreCase)),
    };

    /// <summary>
    /// Whether the certificate names this host the way a TLS client checks a server (RFC 6125, 6.4): exactly,
    /// or through a wildcard that is the whole leftmost label and stands for exactly one label.
    /// </summary>
    public bool IsServedBy(PeerCertificateInfo peer)
    {
        if (IsCarriedExactlyBy(peer))
        {
            return true;
        }

        if (Kind != PeerIdentityKind.Dns)
        {
            return false;
        }

        var dot = Text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            return false;
        }

        var parent = Text.AsSpan(dot);
        foreach (var name in peer.DnsNames)
        {
            if (name.StartsWith("*.", StringComparison.Ordinal) && parent.Equals(name.AsSpan(1), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}
