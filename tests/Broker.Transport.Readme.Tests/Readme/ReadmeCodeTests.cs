using Broker.Transport.Readme.Tests.Support;

namespace Broker.Transport.Readme.Tests.Readme;

/// <summary>
/// README code is tested code: every C# block of README.md (and of each package's README) is taken from the file
/// itself, compiled as a reader's console program and run to its end, so the front door cannot drift from the
/// library. Each runs as a reader would run it after the README's steps: in a folder of its own holding
/// <c>pki/</c>, made by the tool's <c>certs issue</c>, and <c>broker.json</c> when its section shows one.
/// </summary>
public sealed class ReadmeCodeTests(PkiFixture fixture) : IClassFixture<PkiFixture>
{
    private static readonly IReadOnlyList<ReadmeBlock> Blocks = ReadmeBlocks.All(Repository.Root);

    /// <summary>One row per block, named by its file and heading (lines move as the README grows; headings rarely do).</summary>
    public static IEnumerable<TheoryDataRow<string>> BlockNames()
        => Blocks.Select(block => new TheoryDataRow<string>(Name(block)) { TestDisplayName = $"README code runs: {Name(block)}" });

    [Theory(Timeout = TestTimeouts.Hang)]
    [MemberData(nameof(BlockNames))]
    public async Task Every_csharp_block_compiles_and_runs_to_its_end(string name)
    {
        var block = Assert.Single(Blocks, b => Name(b) == name);
        using var folder = new TempFolder();
        File.CreateSymbolicLink(folder["pki"], fixture.Pki.Dir);
        if (block.BrokerConfigJson is { } json)
        {
            File.WriteAllText(folder["broker.json"], json);
        }

        var output = await BlockRunner.RunToEndAsync(block, folder.Path, BlockRunner.Timeout);

        Assert.False(string.IsNullOrWhiteSpace(output), $"{block.Where} ran but printed nothing: every README program shows what it did.");
    }

    [Fact]
    public void The_front_door_has_the_programs_a_newcomer_runs()
    {
        var headings = Blocks.Where(b => b.File == "README.md").Select(b => b.Heading).ToList();

        Assert.Contains("## Quick start", headings);
        Assert.Contains(headings, h => h.StartsWith("### Disabled", StringComparison.Ordinal));
        Assert.Contains(headings, h => h.StartsWith("## Hosting", StringComparison.Ordinal));
        Assert.Contains(headings, h => h.StartsWith("## Configuration", StringComparison.Ordinal));
    }

    [Fact]
    public void The_quick_start_reads_its_certificates_from_Secret_folders_and_ends()
    {
        var quickStart = Assert.Single(Blocks, b => b.File == "README.md" && b.Heading == "## Quick start");

        // What a pod needs: a source that follows rotations, not StaticCertificateSource; and a name that
        // resolves on a fresh machine.
        Assert.Contains("SecretFolderCertificateSource.Open", quickStart.Code, StringComparison.Ordinal);
        Assert.DoesNotContain("StaticCertificateSource", quickStart.Code, StringComparison.Ordinal);
        Assert.DoesNotContain("new DnsEndPoint(\"backend.broker.svc\"", quickStart.Code, StringComparison.Ordinal);
    }

    private static string Name(ReadmeBlock block)
    {
        var same = Blocks.Where(b => b.File == block.File && b.Heading == block.Heading).ToList();
        return same.Count == 1 ? $"{block.File} {block.Heading}" : $"{block.File} {block.Heading} #{same.IndexOf(block) + 1}";
    }
}
