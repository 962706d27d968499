using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Certificates;

/// <summary>
/// Loads credentials from PEM files in the layout cert-manager writes into a Secret: <c>tls.crt</c> (the
/// leaf, then its chain), <c>tls.key</c> (PKCS#1 <c>RSA</c>/<c>EC PRIVATE KEY</c> or PKCS#8
/// <c>PRIVATE KEY</c>) and <c>ca.crt</c> (one or more roots).
/// </summary>
public static class PemCredentials
{
    /// <summary>The certificate file's name in a Secret folder.</summary>
    public const string CertificateFileName = "tls.crt";

    /// <summary>The key file's name in a Secret folder.</summary>
    public const string KeyFileName = "tls.key";

    /// <summary>The trust bundle's name in a Secret folder.</summary>
    public const string TrustBundleFileName = "ca.crt";

    /// <summary>The largest certificate file (<c>tls.crt</c>: the leaf and its chain) read: 1 MiB.</summary>
    public const int MaxCertificateFileBytes = 1024 * 1024;

    /// <summary>The largest key file (<c>tls.key</c>) read: 1 MiB (an RSA-8192 key in PEM is under 7 KiB).</summary>
    public const int MaxKeyFileBytes = 1024 * 1024;

    /// <summary>The largest trust bundle file (<c>ca.crt</c>) read: 4 MiB, room for <see cref="MaxTrustBundleCertificates"/> RSA-8192 roots.</summary>
    public const int MaxTrustBundleFileBytes = 4 * 1024 * 1024;

    /// <summary>
    /// The most roots a trust bundle may hold: 1,000. Every handshake checks the peer's chain against the whole
    /// bundle, and a refusal names it, so a bundle of 10,000 roots made each handshake cost seconds of CPU.
    /// </summary>
    public const int MaxTrustBundleCertificates = 1000;

    /// <summary>The most certificates a certificate file may hold: the leaf and 15 intermediates, all sent at every handshake.</summary>
    public const int MaxChainCertificates = 16;

    /// <summary>Loads <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> from <paramref name="folder"/>.</summary>
    /// <exception cref="CertificateLoadException">The folder or a file is missing, unreadable or broken; the message names it.</exception>
    public static CertificateCredentials LoadFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new CertificateLoadException($"The certificate folder '{folder}' does not exist. It should hold {CertificateFileName}, {KeyFileName} and {TrustBundleFileName} (a Kubernetes TLS Secret's layout).");
        }

        return LoadFiles(
            Path.Combine(folder, CertificateFileName),
            Path.Combine(folder, KeyFileName),
            Path.Combine(folder, TrustBundleFileName));
    }

    /// <summary>Loads credentials from three PEM files.</summary>
    /// <exception cref="CertificateLoadException">A file is missing, unreadable or broken, or the key does not match; the message names the file.</exception>
    public static CertificateCredentials LoadFiles(string certificatePath, string keyPath, string trustBundlePath)
    {
        var certificatePem = ReadCertificateFile(certificatePath);
        var keyPem = ReadKeyFile(keyPath);
        var trustPem = ReadTrustBundleFile(trustBundlePath);
        return FromPem(certificatePem, keyPem, trustPem, certificatePath, keyPath, trustBundlePath);
    }

    /// <summary>Builds credentials from PEM text; the names are only used in error messages.</summary>
    /// <exception cref="CertificateLoadException">The text is broken or the key does not match the certificate.</exception>
    public static CertificateCredentials FromPem(
        string certificatePem, string keyPem, string trustBundlePem,
        string certificateName = CertificateFileName, string keyName = KeyFileName, string trustBundleName = TrustBundleFileName)
    {
        var (leaf, intermediates) = LoadIdentity(certificatePem, keyPem, certificateName, keyName);
        try
        {
            return new CertificateCredentials(leaf, intermediates, ReadRoots(trustBundlePem, trustBundleName));
        }
        catch
        {
            leaf.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The leaf (with its key) and its intermediates from <c>tls.crt</c> and <c>tls.key</c> text, without a trust
    /// bundle: what a Secret folder whose trust comes from a bundle file of its own reads. The caller owns both.
    /// </summary>
    /// <exception cref="CertificateLoadException">The text is broken or the key does not match the certificate.</exception>
    internal static (X509Certificate2 Leaf, X509Certificate2Collection Intermediates) LoadIdentity(string certificatePem, string keyPem, string certificateName, string keyName)
    {
        var chain = ReadCertificates(certificatePem, certificateName, MaxChainCertificates, "the leaf and at most 15 intermediates");

        // The key is read first and matched second: X509Certificate2.CreateFromPem reports a key from another
        // certificate and a file with no key in it alike, and each needs a different fix. (The copy keeps its
        // own handle to the key, as CreateFromPem's does, so the key object is disposed here.)
        X509Certificate2 leaf;
        using (var key = ReadPrivateKey(keyPem, keyName))
        {
            try
            {
                leaf = key is RSA rsa ? chain[0].CopyWithPrivateKey(rsa) : chain[0].CopyWithPrivateKey((ECDsa)key);
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                throw new CertificateLoadException($"The private key in '{keyName}' does not belong to the certificate in '{certificateName}' ({chain[0].Subject}). Were the files taken from different renewals?", ex);
            }
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        chain[0].Dispose();
        return (leaf, intermediates);
    }

    /// <summary>A trust bundle's roots from PEM text: at least one, at most <see cref="MaxTrustBundleCertificates"/>.</summary>
    /// <exception cref="CertificateLoadException">The text is broken, empty, or holds too many certificates; the message names <paramref name="name"/>.</exception>
    internal static X509Certificate2Collection ReadRoots(string pem, string name)
        => ReadCertificates(pem, name, MaxTrustBundleCertificates, "every handshake checks the peer against the whole bundle");

    private static AsymmetricAlgorithm ReadPrivateKey(string pem, string keyName)
    {
        // Each algorithm's ImportFromPem takes 'PRIVATE KEY' (PKCS#8) and its own PKCS#1 label, and fails on
        // a block of the other algorithm; the content error, when there is one, says more than "no key found".
        Exception? failure = null;
        foreach (var create in new Func<AsymmetricAlgorithm>[] { ECDsa.Create, RSA.Create })
        {
            var key = create();
            try
            {
                key.ImportFromPem(pem);
                return key;
            }
            // PlatformNotSupportedException: an EC key on a curve OpenSSL does not know (found by fuzzing; see
            // fuzz/Broker.Transport.Fuzz/findings/pem). It is a broken key file like any other.
            catch (Exception ex) when (ex is ArgumentException or CryptographicException or PlatformNotSupportedException)
            {
                key.Dispose();
                failure = failure is null || ex is CryptographicException or PlatformNotSupportedException ? ex : failure;
            }
        }

        throw new CertificateLoadException($"'{keyName}' holds no usable private key (expected PEM 'RSA PRIVATE KEY', 'EC PRIVATE KEY' or 'PRIVATE KEY'): {failure!.Message}", failure);
    }

    private static X509Certificate2Collection ReadCertificates(string pem, string name, int maxCount, string why)
    {
        // Counted before anything is parsed: ten thousand certificates cost seconds to parse, and more at every handshake.
        var count = CountBlocks(pem);
        if (count > maxCount)
        {
            throw new CertificateLoadException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"'{name}' holds {count:N0} certificates; at most {maxCount:N0} are accepted ({why})."));
        }

        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateLoadException($"'{name}' is not a valid PEM certificate file: {ex.Message}", ex);
        }

        if (collection.Count == 0)
        {
            throw new CertificateLoadException($"'{name}' holds no 'BEGIN CERTIFICATE' block.");
        }

        // A block cut short is skipped by the PEM reader: a bundle written half would lose roots, a chain an intermediate.
        if (collection.Count < count)
        {
            throw new CertificateLoadException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"'{name}' holds {count:N0} 'BEGIN CERTIFICATE' blocks, of which {collection.Count:N0} could be read: is it cut short or broken?"));
        }

        return collection;
    }

    /// <summary>Reads a <c>tls.crt</c>: a regular file of at most <see cref="MaxCertificateFileBytes"/>.</summary>
    internal static string ReadCertificateFile(string path) => CertificateFile.ReadText(path, "certificate", MaxCertificateFileBytes);

    /// <summary>Reads a <c>tls.key</c>: a regular file of at most <see cref="MaxKeyFileBytes"/>.</summary>
    internal static string ReadKeyFile(string path) => CertificateFile.ReadText(path, "private key", MaxKeyFileBytes);

    /// <summary>Reads a <c>ca.crt</c>: a regular file of at most <see cref="MaxTrustBundleFileBytes"/>.</summary>
    internal static string ReadTrustBundleFile(string path) => CertificateFile.ReadText(path, "trust bundle", MaxTrustBundleFileBytes);

    private static int CountBlocks(string pem)
    {
        const string Begin = "-----BEGIN CERTIFICATE-----";
        var count = 0;
        for (var at = pem.IndexOf(Begin, StringComparison.Ordinal); at >= 0; at = pem.IndexOf(Begin, at + Begin.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
