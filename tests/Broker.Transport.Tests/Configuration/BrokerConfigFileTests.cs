using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Security;

namespace Broker.Transport.Tests.Configuration;

public class BrokerConfigFileTests
{
    /// <summary>The product page's first example (encrypt-internal-traffic.md), as written there.</summary>
    internal const string DisabledExample = """
        {
          "advanced": {
            "encryptInternalTraffic": "Disabled"
          }
        }
        """;

    /// <summary>
    /// The product page's second example, as written there: note the space after <c>"Enabled",</c>. An
    /// editor that trims trailing spaces would remove it; <see cref="The_examples_are_the_product_pages_byte_for_byte"/> catches that.
    /// </summary>
    internal const string InternalCertsExample = """
        {
          "advanced": {
            "encryptInternalTraffic": "Enabled", 
            "internalCerts": {
              "duration": "240h",
              "renewBefore": "45m",
              "privateKey": {
                "algorithm": "Rsa2048",
                "rotationPolicy": "Always"
              }
            }
          }
        }
        """;

    [Fact]
    public void The_examples_are_the_product_pages_byte_for_byte()
    {
        Assert.Contains("\"encryptInternalTraffic\": \"Enabled\", \n", InternalCertsExample, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', InternalCertsExample);
        Assert.StartsWith("{\n  \"advanced\": {\n", DisabledExample, StringComparison.Ordinal);
    }

    [Fact]
    public void The_product_pages_Disabled_example_turns_encryption_off()
    {
        var file = BrokerConfigFile.Parse(DisabledExample);

        Assert.Equal(EncryptInternalTraffic.Disabled, file.Config.EncryptInternalTraffic);
        Assert.False(file.Config.InternalCertsSpecified);
        Assert.Equal(InternalCertsConfig.Default, file.Config.InternalCerts);
        Assert.Null(file.Path);
        var warning = Assert.Single(file.Warnings);
        Assert.Equal("advanced.encryptInternalTraffic", warning.Path);
        Assert.Contains("plaintext", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_product_pages_internalCerts_example_reads_every_field()
    {
        var file = BrokerConfigFile.Parse(InternalCertsExample);

        Assert.Equal(EncryptInternalTraffic.Enabled, file.Config.EncryptInternalTraffic);
        Assert.True(file.Config.InternalCertsSpecified);
        Assert.Equal(
            new InternalCertsConfig(TimeSpan.FromHours(240), TimeSpan.FromMinutes(45), PrivateKeyAlgorithm.Rsa2048, RotationPolicy.Always),
            file.Config.InternalCerts);
        Assert.Empty(file.Warnings);
    }

    [Fact]
    public void A_top_level_properties_wrapper_is_stripped()
    {
        var wrapped = $$"""{ "properties": {{InternalCertsExample}} }""";

        var file = BrokerConfigFile.Parse(wrapped);

        Assert.Equal(BrokerConfigFile.Parse(InternalCertsExample).Config, file.Config);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"advanced": {}}""")]
    [InlineData("""{"properties": {}}""")]
    [InlineData("""{"properties": {"advanced": {}}}""")]
    public void A_file_that_says_nothing_gives_the_defaults(string json)
    {
        var file = BrokerConfigFile.Parse(json);

        Assert.Equal(BrokerConfig.Default, file.Config);
        Assert.Equal(EncryptInternalTraffic.Enabled, file.Config.EncryptInternalTraffic);
        Assert.False(file.Config.InternalCertsSpecified);
        Assert.Empty(file.Warnings);
    }

    [Fact]
    public void Our_defaults_are_cert_managers_with_Ec256()
    {
        var defaults = BrokerConfig.Default.InternalCerts;

        Assert.Equal(TimeSpan.FromHours(2160), defaults.Duration);
        Assert.Null(defaults.RenewBefore);
        Assert.Equal(PrivateKeyAlgorithm.Ec256, defaults.Algorithm);
        Assert.Equal(RotationPolicy.Always, defaults.RotationPolicy);
    }

    [Fact]
    public void Clients_and_the_brokers_other_properties_are_accepted_and_not_read()
    {
        const string json = """
            {
              "properties": {
                "advanced": {
                  "clients": { "maxSessionExpirySeconds": 3600, "subscriberQueueLimit": { "length": 1000, "strategy": "DropOldest" } },
                  "encryptInternalTraffic": "Enabled"
                },
                "cardinality": { "backendChain": { "partitions": 2, "redundancyFactor": 2, "workers": 2 }, "frontend": { "replicas": 2, "workers": 2 } },
                "diagnostics": { "logs": { "level": "info" } },
                "diskBackedMessageBuffer": { "maxSize": "500M" },
                "generateResourceLimits": { "cpu": "Enabled" },
                "memoryProfile": "Medium",
                "persistence": { "maxSize": "10GiB" }
              }
            }
            """;

        var file = BrokerConfigFile.Parse(json);

        Assert.Equal(BrokerConfig.Default, file.Config);
        Assert.Empty(file.Warnings);
    }

    [Fact]
    public void InternalCerts_with_encryption_Disabled_is_accepted_with_a_warning_that_it_has_no_effect()
    {
        var json = InternalCertsExample.Replace("\"Enabled\"", "\"Disabled\"", StringComparison.Ordinal);

        var file = BrokerConfigFile.Parse(json);

        Assert.Equal(EncryptInternalTraffic.Disabled, file.Config.EncryptInternalTraffic);
        Assert.True(file.Config.InternalCertsSpecified);
        Assert.Equal(PrivateKeyAlgorithm.Rsa2048, file.Config.InternalCerts.Algorithm);
        var warning = Assert.Single(file.Warnings, w => w.Path == "advanced.internalCerts");
        Assert.Contains("no effect", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Disabled", warning.Message, StringComparison.Ordinal);
        Assert.Equal("advanced.internalCerts: " + warning.Message, warning.ToString());
    }

    [Fact]
    public void Ed25519_with_encryption_Disabled_is_accepted_since_no_certificate_is_made()
    {
        var json = InternalCertsExample
            .Replace("\"Enabled\"", "\"Disabled\"", StringComparison.Ordinal)
            .Replace("Rsa2048", "Ed25519", StringComparison.Ordinal);

        var file = BrokerConfigFile.Parse(json);

        Assert.Equal(PrivateKeyAlgorithm.Ed25519, file.Config.InternalCerts.Algorithm);
        Assert.Contains(file.Warnings, w => w.Path == "advanced.internalCerts");
    }

    [Theory]
    [InlineData("enabled", EncryptInternalTraffic.Enabled)]
    [InlineData("DISABLED", EncryptInternalTraffic.Disabled)]
    public void Enum_values_are_read_in_any_case_with_a_warning_naming_the_resources_spelling(string written, EncryptInternalTraffic expected)
    {
        var file = BrokerConfigFile.Parse($$$"""{"advanced": {"encryptInternalTraffic": "{{{written}}}"}}""");

        Assert.Equal(expected, file.Config.EncryptInternalTraffic);
        var warning = Assert.Single(file.Warnings, w => w.Message.Contains("spells it", StringComparison.Ordinal));
        Assert.Equal("advanced.encryptInternalTraffic", warning.Path);
        Assert.Contains($"\"{expected}\"", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_algorithm_but_Ed25519_and_both_rotation_policies_are_read()
    {
        foreach (var algorithm in Enum.GetValues<PrivateKeyAlgorithm>().Where(a => a != PrivateKeyAlgorithm.Ed25519))
        {
            foreach (var policy in Enum.GetValues<RotationPolicy>())
            {
                var json = InternalCertsExample
                    .Replace("Rsa2048", algorithm.ToString(), StringComparison.Ordinal)
                    .Replace("Always", policy.ToString(), StringComparison.Ordinal);

                var certs = BrokerConfigFile.Parse(json).Config.InternalCerts;

                Assert.Equal(algorithm, certs.Algorithm);
                Assert.Equal(policy, certs.RotationPolicy);
            }
        }
    }

    [Theory]
    [InlineData("1h", "5m", 3600, 300)]
    [InlineData("1h30m", "1h29m59s", 5400, 5399)]
    [InlineData("1.5h", "300s", 5400, 300)]
    [InlineData("2160h", "720h", 7776000, 2592000)]
    public void Durations_at_and_above_the_limits_are_read(string duration, string renewBefore, int durationSeconds, int renewBeforeSeconds)
    {
        var json = InternalCertsExample
            .Replace("\"240h\"", $"\"{duration}\"", StringComparison.Ordinal)
            .Replace("\"45m\"", $"\"{renewBefore}\"", StringComparison.Ordinal);

        var certs = BrokerConfigFile.Parse(json).Config.InternalCerts;

        Assert.Equal(TimeSpan.FromSeconds(durationSeconds), certs.Duration);
        Assert.Equal(TimeSpan.FromSeconds(renewBeforeSeconds), certs.RenewBefore);
    }

    [Fact]
    public void A_leading_byte_order_mark_is_ignored()
    {
        Assert.Equal(EncryptInternalTraffic.Disabled, BrokerConfigFile.Parse("\uFEFF" + DisabledExample).Config.EncryptInternalTraffic);
    }
}
