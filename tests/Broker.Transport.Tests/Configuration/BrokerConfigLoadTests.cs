using System.Text;
using Broker.Transport.Configuration;
using Broker.Transport.Security;

namespace Broker.Transport.Tests.Configuration;

public sealed class BrokerConfigLoadTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("broker-config-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Loads_a_real_file_and_remembers_its_full_path()
    {
        var path = Path.Combine(folder, "broker.json");
        File.WriteAllText(path, BrokerConfigFileTests.InternalCertsExample);

        var file = BrokerConfigFile.Load(path);

        Assert.Equal(path, file.Path);
        Assert.Equal(BrokerConfigFile.Parse(BrokerConfigFileTests.InternalCertsExample).Config, file.Config);
    }

    [Fact]
    public void A_relative_path_is_reported_as_the_full_path()
    {
        var missing = Path.Combine(Path.GetRelativePath(Environment.CurrentDirectory, folder), "missing.json");

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(missing));

        Assert.Equal(Path.Combine(folder, "missing.json"), e.FilePath);
    }

    [Fact]
    public void A_missing_file_is_an_error_that_names_its_path()
    {
        var path = Path.Combine(folder, "missing.json");

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(path));

        Assert.Equal($"The broker config file '{path}' cannot be read: it does not exist.", e.Message);
        Assert.Equal(path, e.FilePath);
        Assert.IsType<FileNotFoundException>(e.InnerException);
        Assert.Equal(string.Empty, Assert.Single(e.Errors).Path);
    }

    [Fact]
    public void A_file_in_a_missing_folder_is_an_error_that_names_its_path()
    {
        var path = Path.Combine(folder, "no-such-folder", "broker.json");

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(path));

        Assert.Contains($"'{path}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_is_an_error_that_says_so()
    {
        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(folder));

        Assert.Contains($"'{folder}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("directory", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void A_blank_path_is_an_argument_error(string path)
    {
        Assert.ThrowsAny<ArgumentException>(() => BrokerConfigFile.Load(path));
    }

    [Fact]
    public void Errors_in_a_file_name_the_file_and_each_field()
    {
        var path = Path.Combine(folder, "broker.json");
        File.WriteAllText(path, """{"advanced": {"encryptInternalTraffic": "Off", "internalCerts": 1}}""");

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(path));

        Assert.StartsWith($"The broker config file '{path}' is not valid (2 errors):", e.Message, StringComparison.Ordinal);
        Assert.Equal(["advanced.encryptInternalTraffic", "advanced.internalCerts"], e.Errors.Select(error => error.Path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void Malformed_JSON_in_a_file_names_the_file_the_line_and_the_position()
    {
        var path = Path.Combine(folder, "broker.json");
        File.WriteAllText(path, "{\n  \"advanced\": {\n    \"encryptInternalTraffic\": Disabled\n  }\n}\n");

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(path));

        Assert.StartsWith($"The broker config file '{path}' is not valid: Malformed JSON at line 3, position 31: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_with_a_byte_order_mark_loads()
    {
        var path = Path.Combine(folder, "broker.json");
        File.WriteAllText(path, BrokerConfigFileTests.DisabledExample, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        Assert.Equal(EncryptInternalTraffic.Disabled, BrokerConfigFile.Load(path).Config.EncryptInternalTraffic);
    }

    [Fact]
    public void A_file_that_is_not_UTF8_is_malformed()
    {
        var path = Path.Combine(folder, "broker.json");
        File.WriteAllBytes(path, [.. "{\"advanced\": {\"encryptInternalTraffic\": \"Enabled"u8, 0xff, .. "\"}}"u8]);

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(path));

        Assert.Equal("Malformed JSON at line 1, position 49: the byte 0xFF is not UTF-8 text; save the file as UTF-8.", Assert.Single(e.Errors).Message);
    }

    [Fact]
    public void An_empty_file_says_so()
    {
        var path = Path.Combine(folder, "broker.json");
        File.WriteAllBytes(path, []);

        var e = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(path));

        Assert.Contains("The file is empty", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{path}'", e.Message, StringComparison.Ordinal);
    }
}
