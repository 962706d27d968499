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
        var certificatePem = ReadText(certificatePath, "certificate");
        var keyPem = ReadText(keyPath, "private key");
        var trustPem = ReadText(trustBundlePath, "trust bundle");
        return FromPem(certificatePem, keyPem, trustPem, certificatePath, keyPath, trustBundlePath);
    }

    /// <summary>Builds credentials from PEM text; the names are only used in error messages.</summary>
    /// <exception cref="CertificateLoadException">The text is broken or the key does not match the certificate.</exception>
    public static CertificateCredentials FromPem(
        string certificatePem, string keyPem, string trustBundlePem,
        string certificateName = CertificateFileName, string keyName = KeyFileName, string trustBundleName = TrustBundleFileName)
    {
        var chain = ReadCertificates(certificatePem, certificateName);
        var roots = ReadCertificates(trustBundlePem, trustBundleName);

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
        return new CertificateCredentials(leaf, intermediates, roots);
    }

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

    private static X509Certificate2Collection ReadCertificates(string pem, string name)
    {
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

        return collection;
    }

    internal static string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' does not exist.", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' does not exist (its folder is missing).", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' cannot be read: permission denied.", ex);
        }
        catch (IOException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' cannot be read: {ex.Message}", ex);
        }
    }
}
