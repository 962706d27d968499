using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Fuzz;
using CsCheck;

namespace Broker.Transport.Tests.Fuzzing;

/// <summary>
/// Every input kept under fuzz/Broker.Transport.Fuzz (the seed corpus, the inputs AFL++ found new paths with,
/// and every crash or hang it saved) run through the same targets the fuzzer drives, so a fixed finding stays
/// fixed. Then a few thousand random mutations of the seeds, so CI fuzzes a little on every run.
/// </summary>
public class FuzzReplayTests
{
    public static TheoryData<string, string> KeptInputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var target in FuzzTargets.All.Keys)
        {
            foreach (var kind in new[] { "corpus", "findings" })
            {
                var folder = Path.Combine(FuzzFolder, kind, target);
                if (!Directory.Exists(folder))
                {
                    continue;
                }

                foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
                {
                    data.Add(target, Path.GetRelativePath(FuzzFolder, file));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KeptInputs))]
    public void A_kept_input_passes_its_target(string target, string file)
    {
        FuzzTargets.All[target](File.ReadAllBytes(Path.Combine(FuzzFolder, file)));
    }

    [Fact]
    public void Every_target_has_a_seed_corpus()
    {
        foreach (var target in FuzzTargets.All.Keys)
        {
            Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(FuzzFolder, "corpus", target)));
        }
    }

    [Theory]
    [InlineData("frames", 20_000)]
    [InlineData("config", 5_000)]
    [InlineData("pem", 300)]
    public void Random_mutations_of_the_seeds_pass_their_target(string target, int iterations)
    {
        var seeds = Directory.EnumerateFiles(Path.Combine(FuzzFolder, "corpus", target)).Select(File.ReadAllBytes).ToArray();
        Mutated(seeds).Sample(FuzzTargets.All[target], iter: iterations, threads: 1);
    }

    [Fact]
    public void A_config_string_with_an_escaped_lone_surrogate_is_refused_as_malformed_JSON()
    {
        // The first finding (findings/config): JsonDocument accepts "\ud800", and reading it threw InvalidOperationException.
        var error = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse("{\"advanced\": {\"encryptInternalTraffic\": \"En\\ud800abled\"}}"));
        var only = Assert.Single(error.Errors);
        Assert.Equal("Malformed JSON at line 1, position 41: a string holds an escaped lone surrogate (a \\uD800-\\uDFFF escape without its pair), which is not text.", only.Message);
    }

    [Fact]
    public void A_key_on_a_curve_OpenSSL_does_not_know_is_refused_as_a_broken_key_file()
    {
        // The second finding (findings/pem): a PKCS#8 EC key whose curve OID was mangled threw PlatformNotSupportedException.
        var finding = Directory.EnumerateFiles(Path.Combine(FuzzFolder, "findings", "pem")).Single(f => Path.GetFileName(f) == "b0239cfddf964339");
        var parts = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(finding)).Split('\0', 3);
        var error = Assert.Throws<CertificateLoadException>(() => PemCredentials.FromPem(parts[0], parts[1], parts[2]));
        Assert.StartsWith("'tls.key' holds no usable private key", error.Message, StringComparison.Ordinal);
    }

    private static string FuzzFolder => FuzzCorpus.Folder;

    private static Gen<byte[]> Mutated(byte[][] seeds) => FuzzCorpus.Mutated(seeds);
}
