using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.CommandLine;

/// <summary>One-line descriptions of certificates and connections, the same in every command's output.</summary>
internal static class Describe
{
    /// <summary><c>CN=localhost [DNS:localhost, IP:127.0.0.1] sha256 AB12..., valid until 2026-12-09 16:50:00Z</c>.</summary>
    public static string Certificate(X509Certificate2 certificate)
    {
        var info = PeerCertificateInfo.From(certificate);
        return string.Create(CultureInfo.InvariantCulture, $"{info} sha256 {info.Thumbprint}, valid until {info.NotAfter:u}");
    }

    /// <summary><c>2 roots: CN=Root A sha256 AB12...; CN=Root B sha256 CD34...</c>.</summary>
    public static string Roots(X509Certificate2Collection roots)
    {
        var each = roots.Select(r => PeerCertificateInfo.From(r)).Select(info => string.Create(CultureInfo.InvariantCulture, $"{info} sha256 {info.Thumbprint}"));
        return $"{roots.Count} root{(roots.Count == 1 ? string.Empty : "s")}: {string.Join("; ", each)}";
    }

    /// <summary><c>Tls13 TLS_AES_256_GCM_SHA384, peer CN=...</c>, or <c>plaintext</c>.</summary>
    public static string Security(ConnectionSecurityInfo security, string peerRole)
    {
        if (!security.IsEncrypted)
        {
            return "plaintext";
        }

        var peer = security.PeerCertificate is { } certificate ? Certificate(certificate.Certificate) : "none";
        return $"{security.Protocol} {security.CipherSuite}, {peerRole} {peer}";
    }

    /// <summary>A byte count with a binary unit: <c>512 B</c>, <c>1.5 MiB</c>.</summary>
    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }

        return unit == 0 ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B") : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[unit]}");
    }
}
