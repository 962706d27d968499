using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// A trust bundle of its own, apart from the Secret: a PEM file, or a folder holding one, as kubelet mounts a
/// ConfigMap that trust-manager's <c>Bundle</c> writes (its <c>spec.target.configMap.key</c> is the file's name;
/// Azure IoT Operations' <c>azure-iot-operations-aio-ca-trust-bundle</c> uses <c>ca.crt</c>). Read with the same
/// bounds as a Secret's <c>ca.crt</c>: a regular file, at most <see cref="PemCredentials.MaxTrustBundleFileBytes"/>,
/// at most <see cref="PemCredentials.MaxTrustBundleCertificates"/> roots.
/// </summary>
internal static class TrustBundleFile
{
    /// <summary>The file read in a folder that holds several: the key Azure IoT Operations' bundle uses, and a Secret's.</summary>
    public const string DefaultKey = PemCredentials.TrustBundleFileName;

    /// <summary>Reads the bundle's text (off the poll's thread; see <see cref="BoundedRead{T}"/>).</summary>
    /// <param name="path">A file, or a folder: its <c>ca.crt</c>, else its only file (kubelet's <c>..</c> entries aside).</param>
    /// <param name="reading">Told the file's path before it is read.</param>
    /// <exception cref="CertificateLoadException">The path is missing, the folder does not say which file, or the file is unreadable or too large.</exception>
    public static BundleRead Read(string path, Action<string> reading)
    {
        var file = Resolve(path);
        reading(file);
        var text = PemCredentials.ReadTrustBundleFile(file);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(text));
        return new BundleRead(file, text, hash.GetHashAndReset());
    }

    /// <summary>The roots in a read bundle.</summary>
    /// <exception cref="CertificateLoadException">The text holds no certificate, a broken one, or too many; the message names the file.</exception>
    public static X509Certificate2Collection Parse(BundleRead read) => PemCredentials.ReadRoots(read.Text, read.File);

    /// <summary>Which file a path names: itself, or in a folder its <c>ca.crt</c>, else its only file.</summary>
    private static string Resolve(string path)
    {
        if (!Directory.Exists(path))
        {
            if (!File.Exists(path) && !Directory.Exists(Path.GetDirectoryName(path)))
            {
                throw new CertificateLoadException($"The trust bundle '{path}' does not exist (nor its folder). It should be a PEM file of roots, or the folder a ConfigMap with one (a trust-manager Bundle's target) is mounted at.");
            }

            return path; // a file; reading it says what is wrong with it
        }

        var key = Path.Combine(path, DefaultKey);
        if (File.Exists(key))
        {
            return key;
        }

        // kubelet's own entries (..data, ..2026_...) start with two dots; other hidden files are no ConfigMap key either.
        var files = Directory.EnumerateFileSystemEntries(path)
            .Where(entry => !Path.GetFileName(entry).StartsWith('.') && !Directory.Exists(entry))
            .Order(StringComparer.Ordinal)
            .ToList();
        return files.Count switch
        {
            1 => files[0],
            0 => throw new CertificateLoadException($"The trust bundle folder '{path}' holds no file: the ConfigMap mounted there should have a key with the PEM roots ({DefaultKey}, or the key the Bundle's target names)."),
            _ => throw new CertificateLoadException(
                $"The trust bundle folder '{path}' holds {files.Count} files ({CertificateText.List(files.Select(f => Path.GetFileName(f) ?? f))}) and no {DefaultKey}: "
                + $"name the PEM file itself, such as '{files.FirstOrDefault(f => f.EndsWith(".pem", StringComparison.Ordinal) || f.EndsWith(".crt", StringComparison.Ordinal)) ?? files[0]}' (a Bundle's additionalFormats add binary JKS or PKCS#12 keys beside it)."),
        };
    }
}

/// <summary>One read of a trust bundle: the file it came from, its text, and the hash it is compared by.</summary>
internal sealed record BundleRead(string File, string Text, byte[] Hash);
