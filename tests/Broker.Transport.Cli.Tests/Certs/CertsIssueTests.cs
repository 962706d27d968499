using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Cli.Tests.Support;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.Tests.Certs;

/// <summary>certs issue as a process: what it writes, read back with .NET and with the library's own Secret folder source.</summary>
public sealed class CertsIssueTests
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Issue_writes_a_root_and_two_leaves_in_kubelet_secret_layout()
    {
        using var pki = await Pki.IssueAsync();

        foreach (var folder in new[] { pki.Backend, pki.Frontend })
        {
            var data = new DirectoryInfo(Path.Combine(folder, "..data")).LinkTarget;
            Assert.NotNull(data);
            Assert.Matches(@"^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d{9}$", data);
            foreach (var name in new[] { "tls.crt", "tls.key", "ca.crt" })
            {
                Assert.Equal(Path.Combine("..data", name), new FileInfo(Path.Combine(folder, name)).LinkTarget);
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, data, "tls.key")));

            // The library reads it as it reads a mounted Secret.
            using var source = SecretFolderCertificateSource.Open(folder);
            Assert.Equal(Pki.Sha256(Pki.Leaf(folder)), Pki.Sha256(source.GetCurrent().Certificate));
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(pki.Ca, "ca.key")));
        using var root = X509Certificate2.CreateFromPemFile(Path.Combine(pki.Ca, "ca.crt"), Path.Combine(pki.Ca, "ca.key"));
        Assert.True(root.HasPrivateKey);
        Assert.Equal(TimeSpan.FromHours(8760), root.NotAfter - root.NotBefore);
        Assert.Equal(root.RawData, Assert.Single(Pki.Roots(pki.Backend)).RawData);
        Assert.Equal(root.RawData, Assert.Single(Pki.Roots(pki.Frontend)).RawData);

        using var backend = Pki.Leaf(pki.Backend);
        var backendInfo = PeerCertificateInfo.From(backend);
        Assert.Equal("CN=localhost", backend.Subject);
        Assert.Equal(["localhost"], backendInfo.DnsNames);
        Assert.Equal(["127.0.0.1"], backendInfo.IPAddresses.Select(a => a.ToString()));
        Assert.Equal([ServerAuth], Usages(backend));
        Assert.Equal(root.Subject, backend.Issuer);
        Assert.Equal(TimeSpan.FromHours(240), backend.NotAfter - backend.NotBefore);
        Assert.Equal(256, backend.GetECDsaPublicKey()!.KeySize);

        using var frontend = Pki.Leaf(pki.Frontend);
        Assert.Equal("CN=frontend", frontend.Subject);
        Assert.Equal(["frontend"], PeerCertificateInfo.From(frontend).DnsNames);
        Assert.Equal([ClientAuth], Usages(frontend));
        Assert.True(Chains(frontend, root));
        Assert.True(Chains(backend, root));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Issue_takes_the_algorithm_the_lifetimes_and_the_names_given()
    {
        using var pki = await Pki.IssueAsync(
            "--algorithm", "Rsa2048", "--duration", "2h", "--ca-duration", "10h",
            "--backend-name", "backend.broker.svc", "--backend-name", "10.1.2.3",
            "--frontend-name", "frontend-0", "--frontend-name", "spiffe://broker/frontend");

        using var backend = Pki.Leaf(pki.Backend);
        var backendInfo = PeerCertificateInfo.From(backend);
        Assert.Equal("CN=backend.broker.svc", backend.Subject);
        Assert.Equal(["backend.broker.svc"], backendInfo.DnsNames);
        Assert.Equal(["10.1.2.3"], backendInfo.IPAddresses.Select(a => a.ToString()));
        Assert.Equal(2048, backend.GetRSAPublicKey()!.KeySize);
        Assert.Equal(TimeSpan.FromHours(2), backend.NotAfter - backend.NotBefore);

        using var frontend = Pki.Leaf(pki.Frontend);
        var frontendInfo = PeerCertificateInfo.From(frontend);
        Assert.Equal(["frontend-0"], frontendInfo.DnsNames);
        Assert.Equal(["spiffe://broker/frontend"], frontendInfo.Uris);

        var root = Assert.Single(Pki.Roots(pki.Backend));
        Assert.Equal(TimeSpan.FromHours(10), root.NotAfter - root.NotBefore);
        Assert.Equal(2048, root.GetRSAPublicKey()!.KeySize);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Issue_refuses_to_overwrite_a_pki_and_changes_nothing()
    {
        using var pki = await Pki.IssueAsync();
        var before = File.ReadAllText(Path.Combine(pki.Ca, "ca.key"));

        var again = await Tool.RunAsync("certs", "issue", "--out", pki.Dir);

        Assert.True(again.ExitCode == 2, again.Transcript);
        Assert.Contains($"'{pki.Ca}' already exists", again.Errors, StringComparison.Ordinal);
        Assert.Contains("certs rotate", again.Errors, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(Path.Combine(pki.Ca, "ca.key")));
    }

    internal static List<string> Usages(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SelectMany(e => e.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>()).Select(o => o.Value!).ToList();

    internal static bool Chains(X509Certificate2 leaf, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        return chain.Build(leaf);
    }
}
