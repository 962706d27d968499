using TwoTierBroker.Tests.Support;

namespace TwoTierBroker.Tests.CommandLine;

/// <summary>The commands' contract: usage and configuration errors are exit code 2 with a message that names the flag.</summary>
public class CommandLineTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_Enabled_backend_without_a_cert_dir_is_a_usage_error_that_says_what_to_do()
    {
        await using var backend = SampleProcesses.Start("backend", "--listen", "127.0.0.1:0");
        Assert.Equal(2, await backend.WaitForExitAsync(SampleProcesses.Timeout));
        Assert.StartsWith("error: Encryption is Enabled (the default) and no --cert-dir was given. The backend needs a folder with tls.crt, tls.key and ca.crt", backend.Errors, StringComparison.Ordinal);
        Assert.Equal(string.Empty, backend.Output);
    }

    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData("frontend --mqtt 127.0.0.1:0 --backends 127.0.0.1:0", "error: --backends: '127.0.0.1:0': a backend's port cannot be 0.")]
    [InlineData("frontend --mqtt localhost:1883x --backends 127.0.0.1:5100", "error: --mqtt: 'localhost:1883x': the port is not a number from 0 to 65535.")]
    [InlineData("all --mqtt 127.0.0.1:0 --backends 0", "error: --backends: give a number from 1 to 64.")]
    [InlineData("backend --listen 127.0.0.1:0 --cert-poll-interval soon", "error: --cert-poll-interval: 'soon' is not a positive duration such as 500ms, 10s or 1m.")]
    public async Task A_bad_flag_is_exit_code_2_with_the_flag_named(string arguments, string message)
    {
        await using var process = SampleProcesses.Start(arguments.Split(' '));
        Assert.Equal(2, await process.WaitForExitAsync(SampleProcesses.Timeout));
        Assert.Contains(message, process.Errors, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_broken_config_file_is_a_usage_error_naming_the_file()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder["broker.json"], """{"advanced": {"encryptInternalTraffic": "Maybe"}}""");
        await using var all = SampleProcesses.Start("all", "--mqtt", "127.0.0.1:0", "--config", folder["broker.json"]);
        Assert.Equal(2, await all.WaitForExitAsync(SampleProcesses.Timeout));
        Assert.StartsWith("error: --config: ", all.Errors, StringComparison.Ordinal);
        Assert.Contains("encryptInternalTraffic", all.Errors, StringComparison.Ordinal);
    }
}
