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
    /// <param name="reading">Told each path before it is read, so a read that times out can say where it was stuck.</param>
    private static FolderRead Read(string folder, Action<string> reading)
    {
        const int Attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var before = DataTarget(folder);
            try
            {
                var set = ReadOnce(folder, reading);
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

    private static FolderRead ReadOnce(string folder, Action<string> reading)
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
        var trust = Next(PemCredentials.TrustBundleFileName, PemCredentials.ReadTrustBundleFile);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var text in new[] { certificate, key, trust })
        {
            hash.AppendData(BitConverter.GetBytes(text.Length));
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(text));
        }

        return new FolderRead((certificate, key, trust), hash.GetHashAndReset());
    }

    /// <summary>Loads a set and checks it is usable now: the key matches, the leaf is valid, and it chains to ca.crt.</summary>
    /// <returns>The credentials, owned by this source: their leaf and key are disposed once they are replaced and no handshake holds them.</returns>
    private static CertificateCredentials Validate(string folder, (string Certificate, string Key, string Trust) pems, DateTimeOffset now)
    {
        var loaded = PemCredentials.FromPem(
            pems.Certificate, pems.Key, pems.Trust,
            Path.Combine(folder, PemCredentials.CertificateFileName),
            Path.Combine(folder, PemCredentials.KeyFileName),
            Path.Combine(folder, PemCredentials.TrustBundleFileName));
        var leaf = loaded.Certificate;
        try
        {
            if (now < loaded.NotBefore || now > loaded.NotAfter)
            {
                throw new CertificateLoadException($"The certificate in '{folder}' ({CertificateText.Escape(leaf.Subject)}) is not valid now ({now:u}): it is valid from {loaded.NotBefore:u} to {loaded.NotAfter:u}.");
            }

            var chain = PinnedChain.Create(loaded.TrustBundle, loaded.Intermediates, now);
            var chains = chain.Build(leaf);
            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
            PinnedChain.Dispose(chain, leaf);
            if (!chains)
            {
                throw new CertificateLoadException($"The certificate in '{folder}' ({CertificateText.Escape(leaf.Subject)}, issued by {CertificateText.Escape(leaf.Issuer)}) does not chain to its {PemCredentials.TrustBundleFileName} ({status}).");
            }
        }
        catch
        {
            // A refused set's key is let go at once.
            leaf.Dispose();
            throw;
        }

        return new CertificateCredentials(leaf, loaded.Intermediates, loaded.TrustBundle, new OwnedLeaf(leaf, loaded.Intermediates));
    }
}
