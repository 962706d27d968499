using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Cli.CommandLine;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.Certs;

/// <summary>
/// A development PKI on disk, made with the embedded issuer's own code (<see cref="CertificateIssuance"/>):
/// <c>ca/</c> holds the root's certificate and key (for later rotations); <c>backend/</c> (server
/// authentication) and <c>frontend/</c> (client authentication) are Secret folders written as kubelet writes
/// them, each with <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c>.
/// </summary>
internal static class DevPki
{
    public const string CaFolder = "ca";
    public const string BackendFolder = "backend";
    public const string FrontendFolder = "frontend";
    public const string CaCertificateFile = "ca.crt";
    public const string CaKeyFile = "ca.key";

    /// <summary>Certificates start a little in the past, so that a peer whose clock is slightly behind accepts them.</summary>
    private static readonly TimeSpan Backdate = TimeSpan.FromMinutes(1);

    /// <summary>The issuer's rule for the root's lifetime: the larger of 8760h (a year) and three leaf durations.</summary>
    public static TimeSpan DefaultCaDuration(TimeSpan duration) => TimeSpan.FromTicks(Math.Max(TimeSpan.FromHours(8760).Ticks, duration.Ticks * 3));

    /// <summary>Makes a new root and the two leaves under <paramref name="outDir"/>, which must not hold a PKI yet.</summary>
    public static void Issue(string outDir, PrivateKeyAlgorithm algorithm, TimeSpan duration, TimeSpan caDuration, IReadOnlyList<string> backendNames, IReadOnlyList<string> frontendNames)
    {
        foreach (var name in new[] { CaFolder, BackendFolder, FrontendFolder })
        {
            var existing = Path.Combine(outDir, name);
            if (Path.Exists(existing))
            {
                throw new UsageException($"'{existing}' already exists: 'certs issue' starts a new PKI in an empty place. Use 'certs rotate --dir {outDir}' to renew it, or remove ca/, backend/ and frontend/ first.");
            }
        }

        var now = Now();
        using var root = CreateRoot(algorithm, now, caDuration);
        WriteCa(outDir, root);
        var trust = root.ExportCertificatePem() + "\n";
        WriteLeaf(Path.Combine(outDir, BackendFolder), root, new LeafProfile(backendNames, Server: true, duration, algorithm), trust, now);
        WriteLeaf(Path.Combine(outDir, FrontendFolder), root, new LeafProfile(frontendNames, Server: false, duration, algorithm), trust, now);
    }

    /// <summary>
    /// Issues new leaves from <c>ca/</c>, with the names, lifetime and key algorithm of the current ones, and
    /// swaps them into <c>backend/</c> and <c>frontend/</c>. With <paramref name="newCa"/>, a new root first, trusted
    /// beside the old one for the overlap, and retired at the end of the run.
    /// </summary>
    /// <remarks>
    /// A new root goes out in three steps, each <paramref name="overlap"/> (time for every reader to reload) after
    /// the one before: both folders get the two-root bundle with their current leaves; then the leaves signed by
    /// the new root; then a bundle of the new root alone. Written at once, a side that reloaded its new leaf before
    /// the other side reloaded the new bundle would be refused by it; never retired, the old root would let a
    /// leaf it signed in for good. A leaf rotation keeps only the roots that still count (see Trust).
    /// </remarks>
    public static void Rotate(string dir, bool newCa, TimeSpan overlap = default, TextWriter? progress = null)
    {
        var now = Now();
        using var current = LoadCa(dir);
        var backend = Path.Combine(dir, BackendFolder);
        var frontend = Path.Combine(dir, FrontendFolder);
        var backendProfile = LeafProfile.Of(backend, server: true);
        var frontendProfile = LeafProfile.Of(frontend, server: false);
        if (!newCa && current.NotAfter.ToUniversalTime() <= now.UtcDateTime)
        {
            throw new UsageException($"The root in '{Path.Combine(dir, CaFolder)}' expired on {current.NotAfter.ToUniversalTime():u}: rotate with --new-ca.");
        }

        X509Certificate2? fresh = null;
        try
        {
            string Trust(string folder)
            {
                if (fresh is not null)
                {
                    return fresh.ExportCertificatePem() + "\n" + current.ExportCertificatePem() + "\n";
                }

                // A leaf rotation keeps the roots that still count: the current one, and one that signed the leaf being
                // replaced (an overlap a --new-ca that was stopped half-way left). Any other root leaves ca.crt.
                var bundle = File.ReadAllText(Path.Combine(folder, PemCredentials.TrustBundleFileName));
                var roots = new X509Certificate2Collection();
                roots.ImportFromPem(bundle);
                using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(folder, PemCredentials.CertificateFileName)));
                var kept = roots.Where(r => r.RawData.AsSpan().SequenceEqual(current.RawData) || r.SubjectName.RawData.AsSpan().SequenceEqual(leaf.IssuerName.RawData)).ToList();
                if (!kept.Any(r => r.RawData.AsSpan().SequenceEqual(current.RawData)))
                {
                    kept.Insert(0, current);
                }

                return string.Concat(kept.Select(r => r.ExportCertificatePem() + "\n"));
            }

            if (newCa)
            {
                var lifetime = current.NotAfter - current.NotBefore;
                fresh = CreateRoot(AlgorithmOf(current), now, lifetime);
            }

            var signer = fresh ?? current;
            var backendTrust = Trust(backend);
            var frontendTrust = Trust(frontend);
            if (fresh is not null)
            {
                WriteCa(dir, fresh);
                KeepLeaf(backend, backendTrust);
                KeepLeaf(frontend, frontendTrust);
                progress?.WriteLine($"both roots trusted in {backend}/ and {frontend}/; issuing leaves from the new root in {Configuration.GoDuration.Format(overlap)}");
                Thread.Sleep(overlap);
                now = Now();
            }

            WriteLeaf(backend, signer, backendProfile, backendTrust, now);
            WriteLeaf(frontend, signer, frontendProfile, frontendTrust, now);
            if (fresh is not null)
            {
                // Step three: once every reader has the leaves from the new root (another overlap), the old root,
                // which now signs nothing in use, leaves both bundles. A leaf it signed is refused from then on.
                progress?.WriteLine($"leaves from the new root in {backend}/ and {frontend}/; the old root leaves ca.crt in {Configuration.GoDuration.Format(overlap)}");
                Thread.Sleep(overlap);
                var single = fresh.ExportCertificatePem() + "\n";
                KeepLeaf(backend, single);
                KeepLeaf(frontend, single);
                progress?.WriteLine($"the old root left {backend}/ca.crt and {frontend}/ca.crt");
            }
        }
        finally
        {
            fresh?.Dispose();
        }
    }

    /// <summary>The key algorithm of a certificate's public key, as the Broker resource names it.</summary>
    public static PrivateKeyAlgorithm AlgorithmOf(X509Certificate2 certificate)
    {
        using var ec = certificate.GetECDsaPublicKey();
        if (ec is not null)
        {
            return ec.KeySize switch { 256 => PrivateKeyAlgorithm.Ec256, 384 => PrivateKeyAlgorithm.Ec384, _ => PrivateKeyAlgorithm.Ec521 };
        }

        using var rsa = certificate.GetRSAPublicKey() ?? throw new UsageException($"The certificate {certificate.Subject} has neither an ECDSA nor an RSA key.");
        return rsa.KeySize switch { <= 2048 => PrivateKeyAlgorithm.Rsa2048, <= 4096 => PrivateKeyAlgorithm.Rsa4096, _ => PrivateKeyAlgorithm.Rsa8192 };
    }

    private static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow;
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
    }

    private static X509Certificate2 CreateRoot(PrivateKeyAlgorithm algorithm, DateTimeOffset now, TimeSpan lifetime)
    {
        using var key = CreateKey(algorithm);
        return CertificateIssuance.CreateRoot($"broker-transport development CA {now:yyyy-MM-dd HH:mm:ss}Z", key, now - Backdate, now - Backdate + lifetime);
    }

    private static AsymmetricAlgorithm CreateKey(PrivateKeyAlgorithm algorithm)
    {
        try
        {
            return CertificateIssuance.CreateKey(algorithm);
        }
        catch (NotSupportedException ex)
        {
            throw new UsageException($"--algorithm: {ex.Message}", ex);
        }
    }

    private static void WriteCa(string dir, X509Certificate2 root)
    {
        // The root's key lives here: the owner alone may enter, whatever the umask.
        var folder = SecretFolderWriter.CreateFolder(Path.Combine(dir, CaFolder), SecretFolderWriter.OwnerOnlyFolder);

        // Key first, then certificate, each through a temporary file renamed into place: a reader never
        // finds half a file.
        WriteReplacing(Path.Combine(folder, CaKeyFile), KeyPem(root), ownerOnly: true);
        WriteReplacing(Path.Combine(folder, CaCertificateFile), root.ExportCertificatePem() + "\n", ownerOnly: false);
    }

    /// <summary>Swaps in a new trust bundle beside the folder's current leaf and key, unchanged.</summary>
    private static void KeepLeaf(string folder, string trust) => SecretFolderWriter.Write(folder,
    [
        new SecretFile(PemCredentials.CertificateFileName, File.ReadAllText(Path.Combine(folder, PemCredentials.CertificateFileName))),
        new SecretFile(PemCredentials.KeyFileName, File.ReadAllText(Path.Combine(folder, PemCredentials.KeyFileName)), OwnerOnly: true),
        new SecretFile(PemCredentials.TrustBundleFileName, trust),
    ]);

    private static void WriteLeaf(string folder, X509Certificate2 issuer, LeafProfile profile, string trust, DateTimeOffset now)
    {
        using var key = CreateKey(profile.Algorithm);
        var notBefore = now - Backdate < issuer.NotBefore.ToUniversalTime() ? new DateTimeOffset(issuer.NotBefore.ToUniversalTime()) : now - Backdate;
        using var leaf = CertificateIssuance.IssueLeaf(issuer, key, profile.ToSpec(notBefore, now - Backdate + profile.Lifetime));
        SecretFolderWriter.Write(folder, SecretFiles(leaf, trust));
    }

    /// <summary>A TLS Secret's files, as cert-manager writes them: the leaf, its key (owner only) and <paramref name="trust"/> as ca.crt.</summary>
    public static SecretFile[] SecretFiles(X509Certificate2 leaf, string trust) =>
    [
        new SecretFile(PemCredentials.CertificateFileName, leaf.ExportCertificatePem() + "\n"),
        new SecretFile(PemCredentials.KeyFileName, KeyPem(leaf), OwnerOnly: true),
        new SecretFile(PemCredentials.TrustBundleFileName, trust),
    ];

    private static X509Certificate2 LoadCa(string dir)
    {
        var folder = Path.Combine(dir, CaFolder);
        var certificate = Path.Combine(folder, CaCertificateFile);
        var key = Path.Combine(folder, CaKeyFile);
        foreach (var file in new[] { certificate, key })
        {
            if (!File.Exists(file))
            {
                throw new UsageException($"'{file}' does not exist: --dir must be a folder made by 'certs issue' (with ca/, backend/ and frontend/).");
            }
        }

        try
        {
            return X509Certificate2.CreateFromPemFile(certificate, key);
        }
        catch (CryptographicException ex)
        {
            throw new UsageException($"The root in '{folder}' cannot be loaded ({CaCertificateFile} with {CaKeyFile}): {ex.Message}", ex);
        }
    }

    /// <summary>The private key of <paramref name="certificate"/> in PKCS#8 PEM (<c>BEGIN PRIVATE KEY</c>).</summary>
    private static string KeyPem(X509Certificate2 certificate)
    {
        using AsymmetricAlgorithm key = (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new InvalidOperationException($"The certificate {certificate.Subject} has no private key.");
        return key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    private static void WriteReplacing(string path, string content, bool ownerOnly)
    {
        var tmp = path + ".tmp";
        File.Delete(tmp);
        SecretFolderWriter.WriteNew(tmp, content, ownerOnly);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>What a leaf says: its names (DNS, IP or URI), its role, its lifetime and its key algorithm.</summary>
    private sealed record LeafProfile(IReadOnlyList<string> Names, bool Server, TimeSpan Lifetime, PrivateKeyAlgorithm Algorithm)
    {
        /// <summary>The profile of the leaf a Secret folder holds now, for its renewal.</summary>
        public static LeafProfile Of(string folder, bool server)
        {
            var path = Path.Combine(folder, PemCredentials.CertificateFileName);
            X509Certificate2 leaf;
            try
            {
                leaf = X509Certificate2.CreateFromPem(File.ReadAllText(path));
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"The current certificate '{path}' cannot be read ({ex.Message}): --dir must be a folder made by 'certs issue'.", ex);
            }

            using (leaf)
            {
                var info = PeerCertificateInfo.From(leaf);
                var names = info.DnsNames.Concat(info.IPAddresses.Select(a => a.ToString())).Concat(info.Uris).ToList();
                var cn = leaf.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
                if (names.Remove(cn))
                {
                    names.Insert(0, cn);
                }

                return new LeafProfile(names, server, leaf.NotAfter - leaf.NotBefore, AlgorithmOf(leaf));
            }
        }

        public LeafSpec ToSpec(DateTimeOffset notBefore, DateTimeOffset notAfter)
        {
            var (dnsNames, uris, addresses) = SubjectName.Sort(Names);
            return new(Names.Count > 0 ? Names[0] : (Server ? "backend" : "frontend"), notBefore, notAfter)
            {
                DnsNames = dnsNames,
                IPAddresses = addresses,
                Uris = uris,
                ServerAuthentication = Server,
                ClientAuthentication = !Server,
            };
        }
    }
}
