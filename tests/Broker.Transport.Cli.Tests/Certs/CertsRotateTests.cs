using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Cli.Tests.Support;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.Tests.Certs;

/// <summary>certs rotate as a process: new leaves like the old ones, swapped in as kubelet swaps a Secret.</summary>
public sealed class CertsRotateTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Rotate_issues_new_leaves_with_the_same_names_lifetime_and_algorithm_from_the_same_root()
    {
        using var pki = await Pki.IssueAsync("--algorithm", "Ec384", "--duration", "5h", "--backend-name", "backend.broker.svc");
        using var oldBackend = Pki.Leaf(pki.Backend);
        var oldData = new DirectoryInfo(Path.Combine(pki.Backend, "..data")).LinkTarget!;
        var oldTrust = File.ReadAllText(Path.Combine(pki.Backend, "ca.crt"));

        var rotate = await Tool.RunAsync("certs", "rotate", "--dir", pki.Dir);

        Assert.True(rotate.ExitCode == 0, rotate.Transcript);
        using var newBackend = Pki.Leaf(pki.Backend);
        Assert.NotEqual(oldBackend.SerialNumber, newBackend.SerialNumber);
        Assert.NotEqual(oldBackend.PublicKey.EncodedKeyValue.RawData, newBackend.PublicKey.EncodedKeyValue.RawData);
        Assert.Equal(oldBackend.Subject, newBackend.Subject);
        Assert.Equal(PeerCertificateInfo.From(oldBackend).DnsNames, PeerCertificateInfo.From(newBackend).DnsNames);
        Assert.Equal(TimeSpan.FromHours(5), newBackend.NotAfter - newBackend.NotBefore);
        Assert.Equal(384, newBackend.GetECDsaPublicKey()!.KeySize);
        Assert.Equal(CertsIssueTests.Usages(oldBackend), CertsIssueTests.Usages(newBackend));
        Assert.Equal(oldTrust, File.ReadAllText(Path.Combine(pki.Backend, "ca.crt")));

        // The swap: a new timestamped folder behind ..data, the old one gone.
        var newData = new DirectoryInfo(Path.Combine(pki.Backend, "..data")).LinkTarget!;
        Assert.NotEqual(oldData, newData);
        Assert.False(Directory.Exists(Path.Combine(pki.Backend, oldData)));
        Assert.Equal([newData, "..data", "ca.crt", "tls.crt", "tls.key"], Directory.EnumerateFileSystemEntries(pki.Backend).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        using var frontend = Pki.Leaf(pki.Frontend);
        Assert.Equal("CN=frontend", frontend.Subject);
        Assert.True(CertsIssueTests.Chains(frontend, Assert.Single(Pki.Roots(pki.Frontend))));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Rotate_with_new_ca_makes_a_new_root_and_retires_the_old_one_by_the_end_of_the_run()
    {
        using var pki = await Pki.IssueAsync();
        using var oldRoot = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(pki.Ca, "ca.crt")));

        var rotate = await Tool.RunAsync("certs", "rotate", "--dir", pki.Dir, "--new-ca", "--overlap", "10ms");

        Assert.True(rotate.ExitCode == 0, rotate.Transcript);
        using var newRoot = X509Certificate2.CreateFromPemFile(Path.Combine(pki.Ca, "ca.crt"), Path.Combine(pki.Ca, "ca.key"));
        Assert.NotEqual(oldRoot.RawData, newRoot.RawData);
        Assert.Equal(oldRoot.NotAfter - oldRoot.NotBefore, newRoot.NotAfter - newRoot.NotBefore);
        foreach (var folder in new[] { pki.Backend, pki.Frontend })
        {
            Assert.Equal([newRoot.RawData], Pki.Roots(folder).Select(r => r.RawData));
            using var leaf = Pki.Leaf(folder);
            Assert.Equal(newRoot.Subject, leaf.Issuer);
            Assert.True(CertsIssueTests.Chains(leaf, newRoot));
        }
    }
}
