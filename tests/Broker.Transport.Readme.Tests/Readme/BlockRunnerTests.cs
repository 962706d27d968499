using Broker.Transport.Readme.Tests.Support;
using Xunit.Sdk;

namespace Broker.Transport.Readme.Tests.Readme;

/// <summary>The README test can fail: blocks that do not compile, throw, hang or log an error fail it, naming the block.</summary>
public sealed class BlockRunnerTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(3);

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_block_that_runs_to_its_end_passes_with_its_output()
    {
        var block = Single("## Fine\n\n```csharp\nConsole.WriteLine($\"args: {string.Join(',', args)}\");\n```\n");
        using var folder = new TempFolder();

        var output = await BlockRunner.RunToEndAsync(block, folder.Path, BlockRunner.Timeout, "a", "b");

        Assert.Equal("args: a,b\n", output);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_compiler_error_fails_with_the_heading_and_the_README_line()
    {
        var block = Single("# Title\n\n## Broken\n\n```csharp\nusing System.Text;\n\nConsole.WriteLine(undefinedName);\n```\n");
        using var folder = new TempFolder();

        var failure = await Assert.ThrowsAsync<XunitException>(() => BlockRunner.RunToEndAsync(block, folder.Path, Short));

        Assert.StartsWith("SAMPLE.md:6 (## Broken) does not compile cleanly:", failure.Message, StringComparison.Ordinal);
        Assert.Contains("SAMPLE.md(8,19): error CS0103: The name 'undefinedName' does not exist in the current context", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_warning_fails_too()
    {
        var block = Single("## Sloppy\n```csharp\nstring text = null;\nConsole.WriteLine(text);\n```\n");
        using var folder = new TempFolder();

        var failure = await Assert.ThrowsAsync<XunitException>(() => BlockRunner.RunToEndAsync(block, folder.Path, Short));

        Assert.Contains("warning CS8600", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_exception_fails_with_its_message_and_the_README_line_it_came_from()
    {
        var block = Single("## Throws\n\n```csharp\nConsole.WriteLine(\"starting\");\nthrow new InvalidOperationException(\"The backend closed.\");\n```\n");
        using var folder = new TempFolder();

        var failure = await Assert.ThrowsAsync<XunitException>(() => BlockRunner.RunToEndAsync(block, folder.Path, BlockRunner.Timeout));

        Assert.StartsWith("SAMPLE.md:4 (## Throws) failed at run time (exit code ", failure.Message, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException: The backend closed.", failure.Message, StringComparison.Ordinal);
        Assert.Contains("SAMPLE.md:line 5", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_block_that_never_ends_fails_at_the_timeout()
    {
        var block = Single("## Hangs\n```csharp\nConsole.WriteLine(\"waiting\");\nawait Task.Delay(Timeout.Infinite);\n```\n");
        using var folder = new TempFolder();

        var failure = await Assert.ThrowsAsync<XunitException>(() => BlockRunner.RunToEndAsync(block, folder.Path, Short));

        Assert.StartsWith("SAMPLE.md:3 (## Hangs) did not run to its end within 3 s.", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task An_error_logged_by_a_host_that_then_exits_0_fails()
    {
        var block = Single("## Logs\n```csharp\nConsole.WriteLine(\"fail: Microsoft.Extensions.Hosting.Internal.Host[9]\");\n```\n");
        using var folder = new TempFolder();

        var failure = await Assert.ThrowsAsync<XunitException>(() => BlockRunner.RunToEndAsync(block, folder.Path, BlockRunner.Timeout));

        Assert.StartsWith("SAMPLE.md:3 (## Logs) exited 0 but logged an error (fail: Microsoft.Extensions.Hosting.Internal.Host[9])", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blocks_are_read_with_their_heading_their_first_line_and_their_section_s_broker_config()
    {
        var blocks = ReadmeBlocks.Parse("SAMPLE.md", """
            # Title

            ## Configuration

            ```json
            {"advanced": {"encryptInternalTraffic": "Disabled"}}
            ```

            ### In code

            ````csharp
            var file = "```";
            ````

            ## Other

            ```bash
            echo not C#
            ```

            ```cs
            Console.WriteLine();
            ```
            """);

        Assert.Collection(
            blocks,
            b =>
            {
                Assert.Equal(("### In code", 12, "var file = \"```\";"), (b.Heading, b.Line, b.Code));
                Assert.Equal("""{"advanced": {"encryptInternalTraffic": "Disabled"}}""", b.BrokerConfigJson);
            },
            b =>
            {
                Assert.Equal(("## Other", 22, "Console.WriteLine();"), (b.Heading, b.Line, b.Code));
                Assert.Null(b.BrokerConfigJson);
            });
    }

    [Fact]
    public void A_block_never_closed_is_an_error_not_a_block_skipped()
    {
        var failure = Assert.Throws<FormatException>(() => ReadmeBlocks.Parse("SAMPLE.md", "## Open\n```csharp\nConsole.WriteLine();\n"));

        Assert.Equal("SAMPLE.md:2 (## Open): the csharp block opened here is never closed.", failure.Message);
    }

    private static ReadmeBlock Single(string markdown) => Assert.Single(ReadmeBlocks.Parse("SAMPLE.md", markdown));
}
