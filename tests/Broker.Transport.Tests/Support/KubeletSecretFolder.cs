using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Broker.Transport.Certificates;

namespace Broker.Transport.Tests.Support;

/// <summary>
/// A folder written exactly as kubelet writes a Secret volume (pkg/volume/util/atomic_writer.go): each
/// update goes into a new timestamped folder <c>..2026_11_29_12_00_00.123456789</c>, a <c>..data_tmp</c>
/// symlink to it is renamed over <c>..data</c> with one rename(2) (atomic: a reader finds the old folder or
/// the new one, never neither), the user-visible <c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c> are symlinks
/// to <c>..data/&lt;name&gt;</c>, names no longer in the Secret lose their symlink, and the old timestamped
/// folder is removed. Files are never modified in place.
/// </summary>
/// <remarks>
/// .NET has no call that renames a symlink to a folder over another: File.Move refuses a source that
/// resolves to a folder (FileNotFoundException) and Directory.Move refuses an existing destination. kubelet
/// calls rename(2) (Go's os.Rename), so this does too; strace shows one rename("..data_tmp", "..data").
/// </remarks>
internal sealed class KubeletSecretFolder : IDisposable
{
    public const string DataLink = "..data";
    private const string DataLinkTmp = "..data_tmp";

    public KubeletSecretFolder(IReadOnlyDictionary<string, string> payload)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kubelet-secret-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        Write(payload);
    }

    /// <summary>The mount point: the folder a pod (and <see cref="SecretFolderCertificateSource"/>) reads.</summary>
    public string Path { get; }

    /// <summary>The timestamped folder <c>..data</c> points to now.</summary>
    public string? Current => new DirectoryInfo(System.IO.Path.Combine(Path, DataLink)).LinkTarget;

    private int _updates;

    /// <summary>How many updates were written (safe to read from another thread).</summary>
    public int Updates => Volatile.Read(ref _updates);

    /// <summary>One projection of the Secret, as kubelet's AtomicWriter.Write does it.</summary>
    public void Write(IReadOnlyDictionary<string, string> payload)
    {
        var previous = Current;

        // (5) A new timestamped folder, named as Go's os.MkdirTemp(dir, "..2006_01_02_15_04_05.") names it.
        string stamp;
        do
        {
            stamp = ".." + DateTime.UtcNow.ToString("yyyy_MM_dd_HH_mm_ss", CultureInfo.InvariantCulture) + "."
                + RandomNumberGenerator.GetInt32(1_000_000_000).ToString("D9", CultureInfo.InvariantCulture);
        }
        while (Directory.Exists(System.IO.Path.Combine(Path, stamp)));

        var folder = Directory.CreateDirectory(System.IO.Path.Combine(Path, stamp));

        // (6) The payload, written into the new folder only.
        foreach (var (name, content) in payload)
        {
            File.WriteAllText(System.IO.Path.Combine(folder.FullName, name), content);
        }

        // (7) ..data_tmp -> the new folder; (8) renamed over ..data in one rename(2).
        var tmp = System.IO.Path.Combine(Path, DataLinkTmp);
        if (File.Exists(tmp) || Directory.Exists(tmp) || new FileInfo(tmp).LinkTarget is not null)
        {
            File.Delete(tmp);
        }

        Directory.CreateSymbolicLink(tmp, stamp);
        Rename(tmp, System.IO.Path.Combine(Path, DataLink));

        // (9) User-visible symlinks for new names; (10) gone for names no longer in the Secret.
        foreach (var name in payload.Keys)
        {
            var visible = System.IO.Path.Combine(Path, name);
            if (new FileInfo(visible).LinkTarget is null)
            {
                File.CreateSymbolicLink(visible, System.IO.Path.Combine(DataLink, name));
            }
        }

        foreach (var link in Directory.EnumerateFileSystemEntries(Path))
        {
            var name = System.IO.Path.GetFileName(link);
            if (!name.StartsWith("..", StringComparison.Ordinal) && !payload.ContainsKey(name))
            {
                File.Delete(link);
            }
        }

        // (11) The previous timestamped folder goes.
        if (previous is not null)
        {
            Directory.Delete(System.IO.Path.Combine(Path, previous), recursive: true);
        }

        Interlocked.Increment(ref _updates);
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

    /// <summary>A Secret's payload for <paramref name="credentials"/>: the leaf then its chain, its key, the roots.</summary>
    public static Dictionary<string, string> Payload(CertificateCredentials credentials, KeyFormat format = KeyFormat.Pkcs8, X509Certificate2Collection? trust = null)
    {
        var chain = new StringBuilder(credentials.Certificate.ExportCertificatePem()).Append('\n');
        foreach (var intermediate in credentials.Intermediates)
        {
            chain.Append(intermediate.ExportCertificatePem()).Append('\n');
        }

        return new Dictionary<string, string>
        {
            [PemCredentials.CertificateFileName] = chain.ToString(),
            [PemCredentials.KeyFileName] = KeyPem(credentials.Certificate, format),
            [PemCredentials.TrustBundleFileName] = Roots(trust ?? credentials.TrustBundle),
        };
    }

    public static string Roots(X509Certificate2Collection roots)
        => string.Concat(roots.Select(r => r.ExportCertificatePem() + "\n"));

    /// <summary>The leaf's private key in PEM: PKCS#8 <c>PRIVATE KEY</c>, or PKCS#1 <c>RSA PRIVATE KEY</c> / SEC1 <c>EC PRIVATE KEY</c>.</summary>
    public static string KeyPem(X509Certificate2 certificate, KeyFormat format)
    {
        if (certificate.GetECDsaPrivateKey() is { } ec)
        {
            using (ec)
            {
                return format == KeyFormat.Pkcs8 ? ec.ExportPkcs8PrivateKeyPem() : ec.ExportECPrivateKeyPem();
            }
        }

        using var rsa = certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException("The certificate has no RSA or ECDSA private key.");
        return format == KeyFormat.Pkcs8 ? rsa.ExportPkcs8PrivateKeyPem() : rsa.ExportRSAPrivateKeyPem();
    }

    private static void Rename(string from, string to)
    {
        if (rename(from, to) != 0)
        {
            throw new IOException($"rename({from}, {to}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    // DllImport, not LibraryImport: the generated stub needs AllowUnsafeBlocks, and two UTF-8 strings need no more.
    // CA2101 does not know LPUTF8Str is explicit marshaling.
#pragma warning disable SYSLIB1054, CA2101
    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
#pragma warning restore SYSLIB1054, CA2101
}

/// <summary>How <c>tls.key</c> is written.</summary>
public enum KeyFormat
{
    /// <summary><c>BEGIN PRIVATE KEY</c>.</summary>
    Pkcs8,

    /// <summary><c>BEGIN RSA PRIVATE KEY</c> or <c>BEGIN EC PRIVATE KEY</c>.</summary>
    Pkcs1,
}
