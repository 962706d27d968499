using System.Buffers;
using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Framing;
using Broker.Transport.Security;
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
    public void The_valid_seeds_parse_and_the_broken_ones_are_refused_as_each_target_documents()
    {
        // The replays above pass for a parser that refuses everything; these fail for it.
        string Text(string target, string name) => System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(FuzzFolder, "corpus", target, name)));

        Assert.Equal(EncryptInternalTraffic.Disabled, BrokerConfigFile.Parse(Text("config", "disabled.json")).Config.EncryptInternalTraffic);
        Assert.Equal(EncryptInternalTraffic.Enabled, BrokerConfigFile.Parse(Text("config", "empty-object.json")).Config.EncryptInternalTraffic);
        var wrapped = BrokerConfigFile.Parse(Text("config", "properties-wrapper.json")).Config.InternalCerts;
        Assert.Equal((TimeSpan.FromMinutes(90), TimeSpan.FromMinutes(5), PrivateKeyAlgorithm.Ec256, RotationPolicy.Never), (wrapped.Duration, wrapped.RenewBefore!.Value, wrapped.Algorithm, wrapped.RotationPolicy));
        Assert.Equal(PrivateKeyAlgorithm.Rsa2048, BrokerConfigFile.Parse(Text("config", "readme-example.json")).Config.InternalCerts.Algorithm);
        Assert.True(Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(Text("config", "errors.json"))).Errors.Count >= 5);

        foreach (var name in new[] { "ec-leaf-pkcs8", "rsa-leaf-pkcs1-with-chain" })
        {
            var parts = Text("pem", name).Split('\0', 3);
            var credentials = PemCredentials.FromPem(parts[0], parts[1], parts[2]);
            Assert.True(credentials.Certificate.HasPrivateKey, name);
            Assert.NotEmpty(credentials.TrustBundle);
            Assert.Equal(name == "rsa-leaf-pkcs1-with-chain" ? 1 : 0, credentials.Intermediates.Count);
        }

        var mismatch = Text("pem", "key-mismatch").Split('\0', 3);
        Assert.Contains("does not belong to the certificate", Assert.Throws<CertificateLoadException>(() => PemCredentials.FromPem(mismatch[0], mismatch[1], mismatch[2])).Message, StringComparison.Ordinal);

        Assert.Equal(["hello", string.Empty], Frames("two-frames-max4096-chunk2").Select(f => System.Text.Encoding.ASCII.GetString(f)));
        var small = Frames("many-small-max255-chunk1");
        Assert.True(small.Count >= 5, $"{small.Count} frames");
        Assert.All(small.Select((frame, i) => (frame, i)), p => Assert.Equal(Enumerable.Repeat((byte)p.i, p.i), p.frame));
        Assert.Throws<FrameTooLargeException>(() => Frames("too-large-max16"));

        static List<byte[]> Frames(string name)
        {
            var input = File.ReadAllBytes(Path.Combine(FuzzFolder, "corpus", "frames", name));
            var sequence = new ReadOnlySequence<byte>(input.AsMemory(1));
            var frames = new List<byte[]>();
            while (FrameFormat.TryReadFrame(ref sequence, FuzzTargets.MaxFrameSizes[input[0] & 7], out var payload))
            {
                frames.Add(payload.ToArray());
            }

            return frames;
        }
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
