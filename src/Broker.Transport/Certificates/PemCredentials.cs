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

        X509Certificate2 leaf;
        try
        {
            // CreateFromPem keeps only the first certificate: the rest of tls.crt is the chain, read above.
            leaf = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException
            && (ex.Message.Contains("public key", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("match", StringComparison.OrdinalIgnoreCase)))
        {
            // .NET 10 reports a key of the right type that is not the certificate's as an ArgumentException
            // ("The provided key does not match the public key for this certificate.").
            throw new CertificateLoadException($"The private key in '{keyName}' does not belong to the certificate in '{certificateName}' ({chain[0].Subject}). Were the files taken from different renewals?", ex);
        }
        catch (CryptographicException ex)
        {
            throw new CertificateLoadException($"'{keyName}' holds no usable private key (expected PEM 'RSA PRIVATE KEY', 'EC PRIVATE KEY' or 'PRIVATE KEY'): {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new CertificateLoadException($"'{keyName}' holds no usable private key (expected PEM 'RSA PRIVATE KEY', 'EC PRIVATE KEY' or 'PRIVATE KEY'): {ex.Message}", ex);
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }

        chain[0].Dispose();
        return new CertificateCredentials(leaf, intermediates, roots);
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
