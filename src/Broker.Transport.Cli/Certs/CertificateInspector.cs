using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Cli.CommandLine;
using Broker.Transport.Configuration;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.Certs;

/// <summary>
/// What <c>certs inspect</c> reports for a PEM file or a folder: each certificate's subject, names, issuer,
/// validity, key and usage; whether the private key matches; for a Secret folder, whether the leaf chains
/// to <c>ca.crt</c>. What would make a handshake fail is listed as a problem.
/// </summary>
internal sealed class CertificateInspector
{
    private static readonly string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private static readonly string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private readonly DateTimeOffset _now;

    public CertificateInspector(DateTimeOffset now) => _now = now;

    /// <summary>The report's lines, in order.</summary>
    public List<string> Lines { get; } = [];

    /// <summary>What is wrong: a key that does not match, a certificate not valid now, a chain that does not end in ca.crt.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>Inspects a file or a folder.</summary>
    /// <exception cref="UsageException">The path does not exist or holds no certificate.</exception>
    public void Inspect(string path)
    {
        if (Directory.Exists(path))
        {
            InspectFolder(path);
        }
        else if (File.Exists(path))
        {
            var chain = InspectFile(path, "certificate");
            var key = KeyFor(path);
            if (key is not null)
            {
                CheckKey(chain[0], key);
            }
            else
            {
                Lines.Add("private key: none beside it");
            }
        }
        else
        {
            throw new UsageException($"'{path}' does not exist.");
        }
    }

    private void InspectFolder(string folder)
    {
        var crt = Path.Combine(folder, PemCredentials.CertificateFileName);
        var ca = Path.Combine(folder, PemCredentials.TrustBundleFileName);
        if (!File.Exists(crt))
        {
            // A ca/ folder of 'certs issue': the root and its key.
            if (File.Exists(ca) && File.Exists(Path.Combine(folder, DevPki.CaKeyFile)))
            {
                var roots = InspectFile(ca, "root");
                CheckKey(roots[0], Path.Combine(folder, DevPki.CaKeyFile));
                return;
            }

            throw new UsageException($"'{folder}' holds no {PemCredentials.CertificateFileName} (a Secret folder) and no {DevPki.CaCertificateFile} with {DevPki.CaKeyFile} (a ca/ folder of 'certs issue').");
        }

        if (SecretFolderWriter.DataTarget(folder) is { } target)
        {
            Lines.Add($"folder: Secret layout, ..data -> {target}");
        }

        var chain = InspectFile(crt, "certificate");
        CheckKey(chain[0], Path.Combine(folder, PemCredentials.KeyFileName));
        if (!File.Exists(ca))
        {
            Problems.Add($"'{ca}' does not exist: the peer's certificate cannot be verified without it.");
            return;
        }

        var trust = InspectFile(ca, "trusted root");
        using var verifier = new X509Chain();
        verifier.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        verifier.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        verifier.ChainPolicy.DisableCertificateDownloads = true;
        verifier.ChainPolicy.VerificationTime = _now.UtcDateTime;
        verifier.ChainPolicy.CustomTrustStore.AddRange(trust);
        verifier.ChainPolicy.ExtraStore.AddRange(chain.Skip(1).ToArray());
        if (verifier.Build(chain[0]))
        {
            Lines.Add($"chain: {chain[0].Subject} chains to {verifier.ChainElements[^1].Certificate.Subject} in {PemCredentials.TrustBundleFileName}");
        }
        else
        {
            var status = string.Join(", ", verifier.ChainStatus.Select(s => s.Status).Distinct());
            Lines.Add($"chain: does not verify against {PemCredentials.TrustBundleFileName} ({status})");
            Problems.Add($"{chain[0].Subject} does not chain to a root in '{ca}' ({status}).");
        }
    }

    private X509Certificate2Collection InspectFile(string path, string what)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(File.ReadAllText(path));
        }
        catch (CryptographicException ex)
        {
            throw new UsageException($"'{path}' is not a PEM certificate file: {ex.Message}", ex);
        }

        if (certificates.Count == 0)
        {
            throw new UsageException($"'{path}' holds no 'BEGIN CERTIFICATE' block.");
        }

        for (var i = 0; i < certificates.Count; i++)
        {
            Lines.Add($"{Path.GetFileName(path)} [{i}] ({(i == 0 ? what : i == certificates.Count - 1 && what == "certificate" ? "chain" : what)})");
            Describe(certificates[i]);
        }

        return certificates;
    }

    private void Describe(X509Certificate2 certificate)
    {
        var info = PeerCertificateInfo.From(certificate);
        var names = info.DnsNames.Select(d => "DNS:" + d).Concat(info.IPAddresses.Select(a => "IP:" + a)).Concat(info.Uris.Select(u => "URI:" + u)).ToList();
        Lines.Add($"  subject: {certificate.Subject}");
        Lines.Add($"  SANs: {(names.Count == 0 ? "none" : string.Join(", ", names))}");
        Lines.Add($"  issuer: {certificate.Issuer}");
        Lines.Add(string.Create(CultureInfo.InvariantCulture, $"  valid: {info.NotBefore:u} to {info.NotAfter:u} ({Validity(info)})"));
        Lines.Add($"  key: {KeyDescription(certificate)}");
        Lines.Add($"  usage: {Usage(certificate)}");
        Lines.Add($"  sha256: {info.Thumbprint}");
    }

    private string Validity(PeerCertificateInfo info)
    {
        if (_now < info.NotBefore)
        {
            Problems.Add(string.Create(CultureInfo.InvariantCulture, $"{info.Subject} is not valid yet: it starts at {info.NotBefore:u}."));
            return "NOT VALID YET";
        }

        if (_now > info.NotAfter)
        {
            Problems.Add(string.Create(CultureInfo.InvariantCulture, $"{info.Subject} expired at {info.NotAfter:u}."));
            return "EXPIRED";
        }

        var left = info.NotAfter - _now;
        return $"valid now, {GoDuration.Format(TimeSpan.FromMinutes(Math.Floor(left.TotalMinutes)))} left";
    }

    private static string KeyDescription(X509Certificate2 certificate)
    {
        using var ec = certificate.GetECDsaPublicKey();
        if (ec is not null)
        {
            return $"ECDSA P-{ec.KeySize} ({ec.KeySize} bits)";
        }

        using var rsa = certificate.GetRSAPublicKey();
        return rsa is not null ? $"RSA ({rsa.KeySize} bits)" : certificate.PublicKey.Oid.FriendlyName ?? certificate.PublicKey.Oid.Value ?? "unknown";
    }

    private static string Usage(X509Certificate2 certificate)
    {
        var usages = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509BasicConstraintsExtension { CertificateAuthority: true })
            {
                usages.Add("certificate authority");
            }
            else if (extension is X509EnhancedKeyUsageExtension eku)
            {
                foreach (var oid in eku.EnhancedKeyUsages)
                {
                    usages.Add(oid.Value == ServerAuthOid ? "server authentication" : oid.Value == ClientAuthOid ? "client authentication" : oid.FriendlyName ?? oid.Value ?? "?");
                }
            }
        }

        return usages.Count == 0 ? "unrestricted" : string.Join(", ", usages);
    }

    /// <summary>The key file beside a certificate file: the same file if it holds a key, <c>tls.key</c> beside <c>tls.crt</c>, <c>NAME.key</c> beside <c>NAME.crt</c>.</summary>
    private static string? KeyFor(string certificatePath)
    {
        if (File.ReadAllText(certificatePath).Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            return certificatePath;
        }

        var sibling = Path.ChangeExtension(certificatePath, ".key");
        return File.Exists(sibling) ? sibling : null;
    }

    private void CheckKey(X509Certificate2 certificate, string keyPath)
    {
        var name = Path.GetFileName(keyPath);
        if (!File.Exists(keyPath))
        {
            Lines.Add($"private key: {name} is missing");
            Problems.Add($"'{keyPath}' does not exist.");
            return;
        }

        try
        {
            // PemCredentials reads the key as the transport will, and says whether it belongs to the certificate.
            var pem = certificate.ExportCertificatePem();
            using var paired = PemCredentials.FromPem(pem, File.ReadAllText(keyPath), pem, keyName: name).Certificate;
            Lines.Add($"private key: {name} matches the certificate");
        }
        catch (CertificateLoadException ex)
        {
            Lines.Add($"private key: {name} does NOT match the certificate");
            Problems.Add(ex.Message);
        }
    }
}
