using System.Security.Cryptography.X509Certificates;
using System.Text;
using Broker.Transport.Certificates;

namespace Broker.Transport.Tests.Support;

/// <summary>A folder under the system's temp folder, deleted with everything in it on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = Directory.CreateTempSubdirectory("broker-transport-tests-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string text)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Credentials written out as PEM, the way cert-manager writes a Secret and OpenSSL reads files.</summary>
internal static class PemFiles
{
    /// <summary>The leaf, then its intermediates.</summary>
    public static string Chain(CertificateCredentials credentials)
    {
        var text = new StringBuilder();
        text.AppendLine(credentials.Certificate.ExportCertificatePem());
        foreach (var intermediate in credentials.Intermediates)
        {
            text.AppendLine(intermediate.ExportCertificatePem());
        }

        return text.ToString();
    }

    /// <summary>The leaf's private key as PKCS#8 ('PRIVATE KEY').</summary>
    public static string Pkcs8Key(X509Certificate2 certificate)
        => certificate.GetECDsaPrivateKey()?.ExportPkcs8PrivateKeyPem()
            ?? certificate.GetRSAPrivateKey()?.ExportPkcs8PrivateKeyPem()
            ?? throw new InvalidOperationException($"{certificate.Subject} has no ECDSA or RSA private key.");

    /// <summary>The leaf's private key as PKCS#1 ('RSA PRIVATE KEY' or 'EC PRIVATE KEY').</summary>
    public static string Pkcs1Key(X509Certificate2 certificate)
        => certificate.GetECDsaPrivateKey()?.ExportECPrivateKeyPem()
            ?? certificate.GetRSAPrivateKey()?.ExportRSAPrivateKeyPem()
            ?? throw new InvalidOperationException($"{certificate.Subject} has no ECDSA or RSA private key.");

    public static string Bundle(X509Certificate2Collection roots)
        => string.Concat(roots.Select(r => r.ExportCertificatePem() + "\n"));

    /// <summary>Writes <c>{name}.crt</c> (leaf and chain) and <c>{name}.key</c>; returns their paths.</summary>
    public static (string Certificate, string Key) WriteCredentials(this TempFolder folder, string name, CertificateCredentials credentials)
        => (folder.Write(name + ".crt", Chain(credentials)), folder.Write(name + ".key", Pkcs8Key(credentials.Certificate)));

    /// <summary>Writes a trust bundle; returns its path.</summary>
    public static string WriteBundle(this TempFolder folder, string name, X509Certificate2Collection roots)
        => folder.Write(name, Bundle(roots));
}
