using Broker.Transport.Configuration;

namespace Broker.Transport.Tests.Configuration;

public class BrokerConfigValidationTests
{
    /// <summary>The product page's internalCerts example with the given fields, each as raw JSON (<c>"\"240h\""</c>, <c>"240"</c>, <c>"null"</c>).</summary>
    private static string WithCerts(string duration = "\"240h\"", string renewBefore = "\"45m\"", string algorithm = "\"Rsa2048\"", string rotationPolicy = "\"Always\"") => $$"""
        {
          "advanced": {
            "encryptInternalTraffic": "Enabled",
            "internalCerts": {
              "duration": {{duration}},
              "renewBefore": {{renewBefore}},
              "privateKey": { "algorithm": {{algorithm}}, "rotationPolicy": {{rotationPolicy}} }
            }
          }
        }
        """;

    /// <summary>Each invalid file, the one path its error names, and words its message must hold.</summary>
    public static TheoryData<string, string, string[]> Invalid => new()
    {
        // encryptInternalTraffic
        { """{"advanced": {"encryptInternalTraffic": "On"}}""", "advanced.encryptInternalTraffic", ["\"On\"", "\"Enabled\" or \"Disabled\""] },
        { """{"advanced": {"encryptInternalTraffic": " Enabled"}}""", "advanced.encryptInternalTraffic", ["\" Enabled\"", "\"Enabled\" or \"Disabled\""] },
        { """{"advanced": {"encryptInternalTraffic": "0"}}""", "advanced.encryptInternalTraffic", ["\"0\"", "not allowed"] },
        { """{"advanced": {"encryptInternalTraffic": true}}""", "advanced.encryptInternalTraffic", ["must be a string", "found true"] },
        { """{"advanced": {"encryptInternalTraffic": 0}}""", "advanced.encryptInternalTraffic", ["must be a string", "the number 0"] },
        { """{"advanced": {"encryptInternalTraffic": null}}""", "advanced.encryptInternalTraffic", ["must be a string", "null"] },

        // durations: syntax, units, sign, limits
        { WithCerts(duration: "\"240\""), "advanced.internalCerts.duration", ["\"240\"", "without a unit", "h, m or s"] },
        { WithCerts(duration: "\"10d\""), "advanced.internalCerts.duration", ["\"10d\"", "unknown unit \"d\""] },
        { WithCerts(duration: "\"\""), "advanced.internalCerts.duration", ["empty", "240h"] },
        { WithCerts(duration: "\"-240h\""), "advanced.internalCerts.duration", ["\"-240h\"", "negative", "\"240h\""] },
        { WithCerts(duration: "\"30m\""), "advanced.internalCerts.duration", ["\"30m\"", "too short", "minimum is 1h"] },
        { WithCerts(duration: "\"0\""), "advanced.internalCerts.duration", ["\"0\"", "too short", "1h"] },
        { WithCerts(duration: "\"3600000ms\""), "advanced.internalCerts.duration", ["\"ms\"", "h, m and s"] },
        { WithCerts(duration: "\"99999999999h\""), "advanced.internalCerts.duration", ["too large", "2562047h"] },
        { WithCerts(duration: "240"), "advanced.internalCerts.duration", ["must be a string", "Go duration", "the number 240"] },
        { WithCerts(renewBefore: "\"4m59s\""), "advanced.internalCerts.renewBefore", ["\"4m59s\"", "too short", "minimum is 5m"] },
        { WithCerts(renewBefore: "\"240h\""), "advanced.internalCerts.renewBefore", ["\"240h\"", "not shorter than duration", "less than"] },
        { WithCerts(renewBefore: "\"241h\""), "advanced.internalCerts.renewBefore", ["\"241h\"", "(\"240h\")"] },
        { WithCerts(renewBefore: "\"45 m\""), "advanced.internalCerts.renewBefore", ["unknown unit \" m\""] },
        { WithCerts(renewBefore: "[\"45m\"]"), "advanced.internalCerts.renewBefore", ["must be a string", "an array"] },

        // privateKey
        { WithCerts(algorithm: "\"Rsa1024\""), "advanced.internalCerts.privateKey.algorithm", ["\"Rsa1024\"", "one of", "\"Ec256\"", "\"Rsa8192\""] },
        { WithCerts(algorithm: "\"RSA-2048\""), "advanced.internalCerts.privateKey.algorithm", ["\"RSA-2048\"", "not allowed"] },
        { WithCerts(rotationPolicy: "\"Sometimes\""), "advanced.internalCerts.privateKey.rotationPolicy", ["\"Sometimes\"", "\"Always\" or \"Never\""] },
        { WithCerts(rotationPolicy: "1"), "advanced.internalCerts.privateKey.rotationPolicy", ["must be a string", "the number 1"] },

        // required fields
        { """{"advanced": {"internalCerts": {"renewBefore": "45m", "privateKey": {"algorithm": "Ec256", "rotationPolicy": "Never"}}}}""", "advanced.internalCerts.duration", ["is missing", "all four"] },
        { """{"advanced": {"internalCerts": {"duration": "240h", "privateKey": {"algorithm": "Ec256", "rotationPolicy": "Never"}}}}""", "advanced.internalCerts.renewBefore", ["is missing", "all four"] },
        { """{"advanced": {"internalCerts": {"duration": "240h", "renewBefore": "45m"}}}""", "advanced.internalCerts.privateKey", ["is missing", "algorithm and rotationPolicy"] },
        { """{"advanced": {"internalCerts": {"duration": "240h", "renewBefore": "45m", "privateKey": {"rotationPolicy": "Never"}}}}""", "advanced.internalCerts.privateKey.algorithm", ["is missing"] },
        { """{"advanced": {"internalCerts": {"duration": "240h", "renewBefore": "45m", "privateKey": {"algorithm": "Ec256"}}}}""", "advanced.internalCerts.privateKey.rotationPolicy", ["is missing"] },

        // wrong JSON types for objects
        { "[]", "", ["must hold a JSON object", "an array"] },
        { "\"advanced\"", "", ["must hold a JSON object", "the string"] },
        { """{"advanced": "Enabled"}""", "advanced", ["must be an object", "the string \"Enabled\""] },
        { """{"advanced": {"internalCerts": []}}""", "advanced.internalCerts", ["must be an object", "an array"] },
        { """{"advanced": {"internalCerts": null}}""", "advanced.internalCerts", ["must be an object", "null"] },
        { """{"advanced": {"internalCerts": {"duration": "240h", "renewBefore": "45m", "privateKey": "Ec256"}}}""", "advanced.internalCerts.privateKey", ["must be an object"] },
        { """{"properties": 1}""", "properties", ["must be an object", "the number 1"] },

        // unknown and duplicate properties, at every level
        { """{"advanced": {}, "listeners": []}""", "listeners", ["not a known property", "\"advanced\""] },
        { """{"advanced": {"encryptInternalTrafic": "Enabled"}}""", "advanced.encryptInternalTrafic", ["not a known property", "did you mean \"encryptInternalTraffic\""] },
        { """{"advanced": {"EncryptInternalTraffic": "Enabled"}}""", "advanced.EncryptInternalTraffic", ["did you mean \"encryptInternalTraffic\"", "case-sensitive"] },
        { """{"advanced": {"tls": {}}}""", "advanced.tls", ["not a known property", "\"clients\", \"encryptInternalTraffic\", \"internalCerts\""] },
        { """{"Advanced": {}}""", "Advanced", ["did you mean \"advanced\""] },
        { """{"advanced": {"internalCerts": {"duration": "240h", "renewBefore": "45m", "lifetime": "1h", "privateKey": {"algorithm": "Ec256", "rotationPolicy": "Never"}}}}""", "advanced.internalCerts.lifetime", ["not a known property"] },
        { """{"advanced": {"internalCerts": {"duration": "240h", "renewBefore": "45m", "privateKey": {"algorithm": "Ec256", "rotationPolicy": "Never", "size": 256}}}}""", "advanced.internalCerts.privateKey.size", ["not a known property", "\"algorithm\", \"rotationPolicy\""] },
        { """{"advanced": {"my setting": 1}}""", "advanced[\"my setting\"]", ["not a known property"] },
        { """{"properties": {"properties": {}}}""", "properties.properties", ["not a known property"] },
        { """{"properties": {}, "advanced": {}}""", "advanced", ["beside \"properties\""] },
        { """{"advanced": {"encryptInternalTraffic": "Enabled", "encryptInternalTraffic": "Disabled"}}""", "advanced.encryptInternalTraffic", ["more than once"] },

        // the properties wrapper puts its name in the path, as in the file
        { """{"properties": {"advanced": {"encryptInternalTraffic": "Off"}}}""", "properties.advanced.encryptInternalTraffic", ["\"Off\""] },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Each_invalid_value_is_reported_with_its_path_its_value_and_what_is_allowed(string json, string path, string[] words)
    {
        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(json));

        var error = Assert.Single(e.Errors);
        Assert.Equal(path, error.Path);
        foreach (var word in words)
        {
            Assert.Contains(word, error.Message, StringComparison.Ordinal);
        }

        Assert.Equal($"The broker config is not valid: {error}", e.Message);
        Assert.Null(e.FilePath);
    }

    [Fact]
    public void Every_error_is_reported_together_in_one_exception()
    {
        const string json = """
            {
              "properties": {
                "advanced": {
                  "encryptInternalTraffic": "Yes",
                  "internalCerts": {
                    "duration": "30m",
                    "renewBefore": "1m",
                    "privateKey": { "algorithm": "Ed448" },
                    "extra": true
                  },
                  "tracing": {}
                }
              }
            }
            """;

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(json));

        Assert.Equal(
            [
                "properties.advanced.tracing",
                "properties.advanced.encryptInternalTraffic",
                "properties.advanced.internalCerts.extra",
                "properties.advanced.internalCerts.duration",
                "properties.advanced.internalCerts.renewBefore",
                "properties.advanced.internalCerts.privateKey.algorithm",
                "properties.advanced.internalCerts.privateKey.rotationPolicy",
            ],
            e.Errors.Select(error => error.Path));
        Assert.StartsWith("The broker config is not valid (7 errors):\n  - properties.advanced.tracing: ", e.Message, StringComparison.Ordinal);
        foreach (var error in e.Errors)
        {
            Assert.Contains($"\n  - {error.Path}: {error.Message}", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_renewBefore_not_below_a_duration_that_is_itself_wrong_is_not_reported_twice()
    {
        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(WithCerts(duration: "\"30m\"", renewBefore: "\"45m\"")));

        Assert.Equal("advanced.internalCerts.duration", Assert.Single(e.Errors).Path);
    }

    [Fact]
    public void Ed25519_is_refused_at_load_saying_dotnet_cannot_serve_it_and_listing_what_works()
    {
        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(WithCerts(algorithm: "\"Ed25519\"")));

        var error = Assert.Single(e.Errors);
        Assert.Equal("advanced.internalCerts.privateKey.algorithm", error.Path);
        Assert.Contains("Ed25519 is a valid value of the Broker resource", error.Message, StringComparison.Ordinal);
        Assert.Contains(".NET's X509 certificates and SslStream do not support Ed25519", error.Message, StringComparison.Ordinal);
        Assert.Contains("Use one of Ec256, Ec384, Ec521, Rsa2048, Rsa4096, Rsa8192.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ed25519_is_reported_with_the_other_errors()
    {
        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(WithCerts(duration: "\"1m\"", algorithm: "\"Ed25519\"")));

        Assert.Equal(
            ["advanced.internalCerts.duration", "advanced.internalCerts.privateKey.algorithm"],
            e.Errors.Select(error => error.Path));
    }

    [Theory]
    [InlineData("{\n  \"advanced\": {\n    \"encryptInternalTraffic\": \"Enabled\",\n  }\n}", 4, 3, "strict JSON")]
    [InlineData("{\n  \"advanced\": {\n    // no comments\n  }\n}", 3, 5, "strict JSON")]
    [InlineData("{\"advanced\": {\"encryptInternalTraffic\": Enabled}}", 1, 41, "invalid")]
    [InlineData("{\"advanced\": {", 1, 15, "")]
    [InlineData("{} {}", 1, 4, "")]
    public void Malformed_JSON_is_reported_with_its_line_and_position(string json, int line, int position, string words)
    {
        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(json));

        var error = Assert.Single(e.Errors);
        Assert.Equal(string.Empty, error.Path);
        Assert.StartsWith($"Malformed JSON at line {line}, position {position}: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("reader options", error.Message, StringComparison.Ordinal);
        Assert.Contains(words, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n\t ")]
    [InlineData("\uFEFF")]
    public void An_empty_file_says_so(string json)
    {
        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse(json));

        Assert.Contains("The file is empty", Assert.Single(e.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_text_is_an_argument_error()
    {
        Assert.Throws<ArgumentNullException>(() => BrokerConfigFile.Parse(null!));
    }
}
