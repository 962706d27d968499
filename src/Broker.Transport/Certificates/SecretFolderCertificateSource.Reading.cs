using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

public sealed partial class SecretFolderCertificateSource
{
    /// <summary>
    /// Reads the three files as one set. kubelet can swap <c>..data</c> between the reads of <c>tls.crt</c>,
    /// <c>tls.key</c> and <c>ca.crt</c> (each resolves the symlink on its own): that would pair one update's
    /// certificate with the next one's key and refuse a Secret that was never broken. When <c>..data</c> moved
    /// during the reads (its targets are new folders each time), the set is read again.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <param name="optionalTrust">Whether <c>ca.crt</c> may be missing (the trust bundle is a file of its own).</param>
    /// <param name="reading">Told each path before it is read, so a read that times out can say where it was stuck.</param>
    private static FolderRead Read(string folder, bool optionalTrust, Action<string> reading)
    {
        const int Attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var before = DataTarget(folder);
            try
            {
                var set = ReadOnce(folder, optionalTrust, reading);
                if (attempt == Attempts || DataTarget(folder) == before)
                {
                    return set;
                }
            }
            catch (CertificateLoadException) when (attempt < Attempts && DataTarget(folder) != before)
            {
                // The old timestamped folder went away under a read: read the new one.
            }
        }
    }

    /// <summary>Where kubelet's <c>..data</c> symlink points; null in a folder that is not a projected volume.</summary>
    private static string? DataTarget(string folder)
    {
        try
        {
            return new FileInfo(Path.Combine(folder, DataLinkName)).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static FolderRead ReadOnce(string folder, bool optionalTrust, Action<string> reading)
    {
        if (!Directory.Exists(folder))
        {
            throw new CertificateLoadException($"The certificate folder '{folder}' does not exist. It should hold {PemCredentials.CertificateFileName}, {PemCredentials.KeyFileName} and {PemCredentials.TrustBundleFileName}, as a mounted Kubernetes TLS Secret does.");
        }

        string Next(string name, Func<string, string> read)
        {
            var path = Path.Combine(folder, name);
            reading(path);
            return read(path);
        }

        // Each file bounded: a regular file only, under its size limit (see CertificateFile).
        var certificate = Next(PemCredentials.CertificateFileName, PemCredentials.ReadCertificateFile);
        var key = Next(PemCredentials.KeyFileName, PemCredentials.ReadKeyFile);
        // With a trust bundle of its own, a Secret without ca.crt (an issuer that writes none) is complete.
        var trust = optionalTrust && !File.Exists(Path.Combine(folder, PemCredentials.TrustBundleFileName))
            ? string.Empty
            : Next(PemCredentials.TrustBundleFileName, PemCredentials.ReadTrustBundleFile);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var text in new[] { certificate, key, trust })
        {
            hash.AppendData(BitConverter.GetBytes(text.Length));
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(text));
        }

        return new FolderRead((certificate, key, trust), hash.GetHashAndReset());
    }

    /// <summary>
    /// Loads a set and checks it is usable now: the key matches, the leaf is valid, and it chains to a root. Without
    /// a trust bundle of its own (<paramref name="trusted"/> null) that root must be in the Secret's <c>ca.crt</c>;
    /// with one, in the roots trusted now or in <c>ca.crt</c> (a root new to this side: a root handover follows).
    /// </summary>
    /// <returns>The leaf and its chain, owned by the caller until a <see cref="HeldLeaf"/> takes them.</returns>
    private static Identity Validate(string folder, (string Certificate, string Key, string Trust) pems, DateTimeOffset now, X509Certificate2Collection? trusted)
    {
        var certificateName = Path.Combine(folder, PemCredentials.CertificateFileName);
        var trustName = Path.Combine(folder, PemCredentials.TrustBundleFileName);
        var secretRoots = trusted is not null && pems.Trust.Length == 0 ? [] : PemCredentials.ReadRoots(pems.Trust, trustName);
        var (leaf, intermediates) = PemCredentials.LoadIdentity(pems.Certificate, pems.Key, certificateName, Path.Combine(folder, PemCredentials.KeyFileName));
        try
        {
            var notBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (now < notBefore || now > notAfter)
            {
                throw new CertificateLoadException($"The certificate in '{folder}' ({CertificateText.Escape(leaf.Subject)}) is not valid now ({now:u}): it is valid from {notBefore:u} to {notAfter:u}.");
            }

            var candidates = new X509Certificate2Collection(secretRoots);
            if (trusted is not null)
            {
                candidates.AddRange(trusted);
            }

            var root = ChainRoot(leaf, intermediates, candidates, now, out var status);
            if (root is null)
            {
                var where = trusted is null ? $"its {PemCredentials.TrustBundleFileName}" : $"the trust bundle or its {PemCredentials.TrustBundleFileName}";
                throw new CertificateLoadException($"The certificate in '{folder}' ({CertificateText.Escape(leaf.Subject)}, issued by {CertificateText.Escape(leaf.Issuer)}) does not chain to {where} ({status}).");
            }

            return new Identity(leaf, intermediates, secretRoots, root);
        }
        catch
        {
            // A refused set's key is let go at once.
            leaf.Dispose();
            throw;
        }
    }

    /// <summary>The root of <paramref name="candidates"/> that <paramref name="leaf"/> chains to at <paramref name="now"/> (the instance held there); null when it chains to none.</summary>
    private static X509Certificate2? ChainRoot(X509Certificate2 leaf, X509Certificate2Collection intermediates, X509Certificate2Collection candidates, DateTimeOffset now, out string status)
    {
        var chain = PinnedChain.Create(candidates, intermediates, now);
        try
        {
            var chains = chain.Build(leaf);
            status = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
            if (!chains)
            {
                return null;
            }

            var end = chain.ChainElements[^1].Certificate.RawDataMemory;
            return candidates.FirstOrDefault(c => c.RawDataMemory.Span.SequenceEqual(end.Span));
        }
        finally
        {
            PinnedChain.Dispose(chain, leaf);
        }
    }

    /// <summary>A validated Secret: its leaf (with the key) and intermediates, the roots its <c>ca.crt</c> names, and the root the leaf chains to.</summary>
    private sealed record Identity(X509Certificate2 Leaf, X509Certificate2Collection Intermediates, X509Certificate2Collection SecretRoots, X509Certificate2 Root)
    {
        /// <summary>The leaf and its chain are not kept (the folder holds a leaf already held): let them go now.</summary>
        public void Discard()
        {
            Leaf.Dispose();
            foreach (var intermediate in Intermediates)
            {
                intermediate.Dispose();
            }
        }
    }
}
