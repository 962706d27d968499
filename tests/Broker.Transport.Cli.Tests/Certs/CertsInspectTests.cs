using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.Certs;

/// <summary>certs inspect as a process: what it says about a Secret folder, a file, a ca/ folder, and a broken set.</summary>
public sealed class CertsInspectTests(PkiFixture fixture) : IClassFixture<PkiFixture>
{
    private Pki Pki => fixture.Pki;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Inspect_of_a_secret_folder_describes_the_leaf_and_its_roots_and_checks_key_and_chain()
    {
        var result = await Tool.RunAsync("certs", "inspect", Pki.Backend);

        Assert.True(result.ExitCode == 0, result.Transcript);
        using var leaf = Pki.Leaf(Pki.Backend);
        var lines = result.Output.Split('\n');
        Assert.Contains("folder: Secret layout, ..data -> ..", result.Output, StringComparison.Ordinal);
        Assert.Contains("  subject: CN=localhost", lines);
        Assert.Contains("  SANs: DNS:localhost, IP:127.0.0.1", lines);
        Assert.Contains("  key: ECDSA P-256 (256 bits)", lines);
        Assert.Contains("  usage: server authentication", lines);
        Assert.Contains($"  sha256: {Pki.Sha256(leaf)}", lines);
        Assert.Contains($"  issuer: {leaf.Issuer}", lines);
        Assert.Contains(lines, l => l.StartsWith("  valid: ", StringComparison.Ordinal) && l.Contains("(valid now, 239h", StringComparison.Ordinal));
        Assert.Contains("private key: tls.key matches the certificate", lines);
        Assert.Contains($"chain: CN=localhost chains to {leaf.Issuer} in ca.crt", lines);
        Assert.Contains("  usage: certificate authority", lines);
        Assert.Equal(string.Empty, result.Errors);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Inspect_of_a_certificate_file_finds_its_key_beside_it_and_of_the_ca_folder_its_root()
    {
        var file = await Tool.RunAsync("certs", "inspect", Path.Combine(Pki.Frontend, "tls.crt"));
        Assert.True(file.ExitCode == 0, file.Transcript);
        Assert.Contains("  subject: CN=frontend", file.Output, StringComparison.Ordinal);
        Assert.Contains("  usage: client authentication", file.Output, StringComparison.Ordinal);
        Assert.Contains("private key: tls.key matches the certificate", file.Output, StringComparison.Ordinal);

        var ca = await Tool.RunAsync("certs", "inspect", Pki.Ca);
        Assert.True(ca.ExitCode == 0, ca.Transcript);
        Assert.Contains("  usage: certificate authority", ca.Output, StringComparison.Ordinal);
        Assert.Contains("private key: ca.key matches the certificate", ca.Output, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Inspect_of_a_set_whose_key_belongs_to_another_certificate_exits_1_and_says_so()
    {
        var mixed = Pki.Temp[$"mixed-{Guid.NewGuid():N}"];
        Directory.CreateDirectory(mixed);
        File.Copy(Path.Combine(Pki.Backend, "tls.crt"), Path.Combine(mixed, "tls.crt"));
        File.Copy(Path.Combine(Pki.Frontend, "tls.key"), Path.Combine(mixed, "tls.key"));
        File.Copy(Path.Combine(Pki.Frontend, "ca.crt"), Path.Combine(mixed, "ca.crt"));

        var result = await Tool.RunAsync("certs", "inspect", mixed);

        Assert.True(result.ExitCode == 1, result.Transcript);
        Assert.Contains("private key: tls.key does NOT match the certificate", result.Output, StringComparison.Ordinal);
        Assert.Contains("problem: The private key in 'tls.key' does not belong to the certificate", result.Errors, StringComparison.Ordinal);
    }
}
