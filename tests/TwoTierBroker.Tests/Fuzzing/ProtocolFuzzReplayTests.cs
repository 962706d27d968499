using Broker.Transport.Fuzz;
using Broker.Transport.Tests.Fuzzing;
using CsCheck;

namespace TwoTierBroker.Tests.Fuzzing;

/// <summary>
/// The internal protocol's fuzz corpus (fuzz/Broker.Transport.Fuzz/corpus/protocol: the hand-made seeds and what
/// AFL++ kept) and its findings, replayed through the same target; the seeds must decode, so the target cannot
/// pass by refusing everything. Then random mutations of the seeds, so CI fuzzes a little on every run.
/// </summary>
public class ProtocolFuzzReplayTests
{
    public static TheoryData<string> KeptInputs()
    {
        var data = new TheoryData<string>();
        foreach (var kind in new[] { "corpus", "findings" })
        {
            var folder = Path.Combine(FuzzFolder, kind, BrokerProtocolTarget.Name);
            if (Directory.Exists(folder))
            {
                foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
                {
                    data.Add(Path.GetRelativePath(FuzzFolder, file));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KeptInputs))]
    public void A_kept_input_passes_the_target(string file)
    {
        var valid = BrokerProtocolTarget.Run(File.ReadAllBytes(Path.Combine(FuzzFolder, file)));
        if (Path.GetFileName(file).StartsWith("seed-", StringComparison.Ordinal))
        {
            Assert.True(valid, $"The seed {file} must be a valid message of version 1.");
        }
    }

    [Fact]
    public void The_seeds_cover_every_message_kind()
    {
        var seeds = Seeds();
        Assert.True(seeds.Length >= 7);
        var kinds = seeds.Select(s => s[1]).ToHashSet();
        Assert.Equal(Enumerable.Range(1, 7).Select(k => (byte)k).ToHashSet(), kinds);
    }

    [Fact]
    public void Random_mutations_of_the_seeds_pass_the_target()
    {
        FuzzCorpus.Mutated(Seeds(), maxEdits: 6).Sample(input => { BrokerProtocolTarget.Run(input); }, iter: 20_000, threads: 1);
    }

    private static byte[][] Seeds() => [.. Directory.EnumerateFiles(Path.Combine(FuzzFolder, "corpus", BrokerProtocolTarget.Name), "seed-*").Order(StringComparer.Ordinal).Select(File.ReadAllBytes)];

    private static string FuzzFolder => FuzzCorpus.Folder;
}
