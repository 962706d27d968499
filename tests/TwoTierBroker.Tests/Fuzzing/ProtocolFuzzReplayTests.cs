using Broker.Transport.Fuzz;
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
        var seeds = Seeds();
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Select(Gen.Int[0, 3], Gen.Int[0, int.MaxValue], Gen.Byte).Array[1, 6], (seed, edits) =>
        {
            var bytes = new List<byte>(seeds[seed]);
            foreach (var (kind, at, value) in edits)
            {
                var position = bytes.Count == 0 ? 0 : at % bytes.Count;
                switch (kind)
                {
                    case 0 when bytes.Count > 0: bytes[position] = value; break;
                    case 1: bytes.Insert(position, value); break;
                    case 2 when bytes.Count > 0: bytes.RemoveAt(position); break;
                    case 3 when bytes.Count > 0: bytes.RemoveRange(position, bytes.Count - position); break;
                }
            }

            return bytes.ToArray();
        }).Sample(input => { BrokerProtocolTarget.Run(input); }, iter: 20_000, threads: 1);
    }

    private static byte[][] Seeds() => [.. Directory.EnumerateFiles(Path.Combine(FuzzFolder, "corpus", BrokerProtocolTarget.Name), "seed-*").Order(StringComparer.Ordinal).Select(File.ReadAllBytes)];

    private static string FuzzFolder
    {
        get
        {
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, "fuzz", "Broker.Transport.Fuzz");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException($"No fuzz/Broker.Transport.Fuzz above {AppContext.BaseDirectory}.");
        }
    }
}
