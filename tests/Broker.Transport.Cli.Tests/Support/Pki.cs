using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Transport.Cli.Tests.Support;

/// <summary>A development PKI made by the tool itself (<c>certs issue</c>) in a temporary folder.</summary>
internal sealed class Pki : IDisposable
{
    private readonly TempFolder _folder = new();

    public string Dir => _folder["pki"];

    public string Backend => Path.Combine(Dir, "backend");

    public string Frontend => Path.Combine(Dir, "frontend");

    public string Ca => Path.Combine(Dir, "ca");

    public TempFolder Temp => _folder;

    /// <summary>Runs <c>certs issue --out DIR</c> with <paramref name="arguments"/> and checks it succeeded.</summary>
    public static async Task<Pki> IssueAsync(params string[] arguments)
    {
        var pki = new Pki();
        var result = await Tool.RunAsync(["certs", "issue", "--out", pki.Dir, .. arguments]);
        Assert.True(result.ExitCode == 0, result.Transcript);
        return pki;
    }

    /// <summary>The leaf a Secret folder holds now (through its symlinks, as a reader sees it).</summary>
    public static X509Certificate2 Leaf(string folder) => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(folder, "tls.crt")));

    public static string Sha256(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    public static X509Certificate2Collection Roots(string folder)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(Path.Combine(folder, "ca.crt"));
        return roots;
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary>One PKI shared by the tests of a class that only read it.</summary>
public sealed class PkiFixture : IAsyncLifetime
{
    private Pki? _pki;

    internal Pki Pki => _pki ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync() => _pki = await Pki.IssueAsync();

    public ValueTask DisposeAsync()
    {
        _pki?.Dispose();
        return ValueTask.CompletedTask;
    }
}
