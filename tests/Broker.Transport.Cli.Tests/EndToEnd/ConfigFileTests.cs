using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>--config reads the broker config file; a flag on the command line wins over it.</summary>
public sealed class ConfigFileTests(PkiFixture fixture) : IClassFixture<PkiFixture>
{
    private Pki Pki => fixture.Pki;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_config_file_that_disables_encryption_makes_both_sides_plaintext()
    {
        var config = WriteConfig("""{"advanced": {"encryptInternalTraffic": "Disabled"}}""");
        var (serve, port) = await Tool.ServeAsync("--config", config);
        await using (serve)
        {
            var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--config", config, "--messages", "50");

            Assert.True(send.ExitCode == 0, send.Transcript);
            Assert.Contains("plaintext", send.Output, StringComparison.Ordinal);
            Assert.Equal(50, send.Number("echoed"));
            await serve.WaitForLineAsync("serving echo over plaintext", Tool.Timeout);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_encrypt_flag_wins_over_the_config_file()
    {
        var config = WriteConfig("""{"advanced": {"encryptInternalTraffic": "Disabled"}}""");
        var (serve, port) = await Tool.ServeAsync("--config", config, "--encrypt", "Enabled", "--cert-dir", Pki.Backend);
        await using (serve)
        {
            await serve.WaitForLineAsync("serving echo over TLS 1.3", Tool.Timeout);

            var plain = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--config", config, "--messages", "5");
            Assert.True(plain.ExitCode == 1, plain.Transcript);

            var encrypted = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{port}", "--config", config, "--encrypt", "Enabled", "--cert-dir", Pki.Frontend, "--messages", "5");
            Assert.True(encrypted.ExitCode == 0, encrypted.Transcript);
            Assert.Contains("Tls13", encrypted.Output, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_config_file_that_says_enabled_needs_a_cert_dir()
    {
        var config = WriteConfig("""{"advanced": {"encryptInternalTraffic": "Enabled"}}""");

        var serve = await Tool.RunAsync("serve", "--listen", "127.0.0.1:0", "--config", config);

        Assert.True(serve.ExitCode == 2, serve.Transcript);
        Assert.Contains($"Encryption is Enabled (the config file {config} says Enabled) and no --cert-dir was given", serve.Errors, StringComparison.Ordinal);
        Assert.Equal(string.Empty, serve.Output);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_broken_config_file_is_a_configuration_error_naming_the_field()
    {
        var config = WriteConfig("""{"advanced": {"encryptInternalTraffic": "Sometimes"}}""");

        var send = await Tool.RunAsync("send", "--connect", "127.0.0.1:1", "--config", config);

        Assert.True(send.ExitCode == 2, send.Transcript);
        Assert.Contains("--config:", send.Errors, StringComparison.Ordinal);
        Assert.Contains("advanced.encryptInternalTraffic", send.Errors, StringComparison.Ordinal);
        Assert.Contains("Sometimes", send.Errors, StringComparison.Ordinal);
    }

    private string WriteConfig(string json)
    {
        var path = Pki.Temp[$"broker-{Guid.NewGuid():N}.json"];
        File.WriteAllText(path, json);
        return path;
    }
}
