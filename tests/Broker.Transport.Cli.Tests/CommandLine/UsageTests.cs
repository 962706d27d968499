using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.CommandLine;

/// <summary>Bad arguments: exit code 2 and a message that names the problem, before anything is bound or written.</summary>
public sealed class UsageTests
{
    public static TheoryData<string[], string> BadArguments => new()
    {
        { [], "Required command was not provided" },
        { ["serve"], "--listen" },
        { ["serve", "--listen", "nohost"], "'nohost' is not HOST:PORT" },
        { ["serve", "--listen", "127.0.0.1:70000"], "the port '70000' is not a number from 0 to 65535" },
        { ["serve", "--listen", "::1:5100"], "an IPv6 address goes in brackets" },
        { ["serve", "--listen", "127.0.0.1:0", "--encrypt", "Maybe"], "--encrypt: 'Maybe' is not Enabled or Disabled" },
        { ["serve", "--listen", "127.0.0.1:0", "--mode", "mirror"], "mirror" },
        { ["serve", "--listen", "127.0.0.1:0", "--handshake-timeout", "10"], "--handshake-timeout: " },
        { ["serve", "--listen", "127.0.0.1:0", "--grace-period", "-5s"], "--grace-period: '-5s' must be positive" },
        { ["serve", "--listen", "127.0.0.1:0", "--bogus"], "--bogus" },
        { ["serve", "--listen", "127.0.0.1:0", "--root-handover", "-1s"], "--root-handover: '-1s' must be zero or positive" },
        { ["send", "--connect", "127.0.0.1:1", "--cert-dir", "/nonexistent/frontend", "--trust-bundle", "/nonexistent/trust/ca.crt"], "--trust-bundle: The trust bundle '/nonexistent/trust/ca.crt' does not exist (nor its folder)" },
        { ["serve", "--listen", "127.0.0.1:0"], "Encryption is Enabled (the default) and no --cert-dir was given" },
        { ["serve", "--listen", "127.0.0.1:0", "--cert-dir", "/nonexistent/backend"], "--cert-dir: The certificate folder '/nonexistent/backend' does not exist" },
        { ["serve", "--listen", "127.0.0.1:0", "--config", "/nonexistent/broker.json"], "--config: The broker config file '/nonexistent/broker.json' cannot be read: it does not exist." },
        { ["send", "--connect", "127.0.0.1:1", "--messages", "5", "--duration", "1s"], "--messages and --duration cannot be used together" },
        { ["send", "--connect", "127.0.0.1:1", "--connections", "0"], "--connections: 0 is below the minimum, 1" },
        { ["send", "--connect", "127.0.0.1:1", "--size", "0"], "--size: 0 is below the minimum, 1" },
        { ["send", "--connect", "127.0.0.1:1", "--size", "99999999"], "--size: at most 16777216 bytes" },
        { ["send", "--connect", "127.0.0.1:1", "--messages", "0"], "--messages: must be at least 1" },
        { ["send", "--connect", "127.0.0.1:1", "--duration", "soon"], "--duration: " },
        { ["certs", "issue"], "--out" },
        { ["certs", "issue", "--out", "/tmp/x", "--algorithm", "Dsa1024"], "--algorithm: 'Dsa1024' is not one of" },
        { ["certs", "issue", "--out", "/tmp/x", "--duration", "240h", "--ca-duration", "1h"], "--ca-duration (1h) is shorter than --duration (240h)" },
        { ["certs", "rotate", "--dir", "/nonexistent/pki"], "'/nonexistent/pki/ca/ca.crt' does not exist" },
        { ["certs", "inspect", "/nonexistent/tls.crt"], "'/nonexistent/tls.crt' does not exist" },
    };

    [Theory(Timeout = TestTimeouts.Hang)]
    [MemberData(nameof(BadArguments))]
    public async Task Bad_arguments_exit_with_2_and_a_message_naming_the_problem(string[] arguments, string message)
    {
        using var error = new StringWriter();

        var code = await Program.RunAsync(arguments, error);

        Assert.True(code == 2, $"exit code {code}\n{error}");
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_process_exits_with_2_and_says_why_on_stderr_with_nothing_on_stdout()
    {
        var result = await Tool.RunAsync("serve", "--listen", "127.0.0.1:0", "--encrypt", "Disabled", "--bogus");

        Assert.True(result.ExitCode == 2, result.Transcript);
        Assert.Contains("error: Unrecognized command or argument '--bogus'", result.Errors, StringComparison.Ordinal);
        Assert.Contains("Run 'broker-transport serve --help' for usage.", result.Errors, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Ed25519_is_refused_with_exit_code_2_and_the_algorithms_that_work()
    {
        using var folder = new TempFolder();

        var result = await Tool.RunAsync("certs", "issue", "--out", folder["pki"], "--algorithm", "Ed25519");

        Assert.True(result.ExitCode == 2, result.Transcript);
        Assert.Contains("--algorithm: The private key algorithm Ed25519 cannot be used", result.Errors, StringComparison.Ordinal);
        Assert.Contains("Ec256, Ec384, Ec521, Rsa2048, Rsa4096, Rsa8192", result.Errors, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder["pki/ca"]), "nothing is written");
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Help_lists_the_contract_flags_and_exits_0()
    {
        var result = await Tool.RunAsync("serve", "--help");

        Assert.True(result.ExitCode == 0, result.Transcript);
        foreach (var flag in new[] { "--listen", "--encrypt", "--config", "--cert-dir", "--mode", "--allow-peer", "--handshake-timeout" })
        {
            Assert.Contains(flag, result.Output, StringComparison.Ordinal);
        }
    }
}
