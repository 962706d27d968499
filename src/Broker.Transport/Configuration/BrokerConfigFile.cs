using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Broker.Transport.Configuration;

/// <summary>
/// A broker config file read and validated: the JSON file given to <c>az iot ops create --broker-config-file</c>,
/// which holds the Broker resource's properties, such as
/// <c>{"advanced": {"encryptInternalTraffic": "Enabled", "internalCerts": {...}}}</c>.
/// </summary>
/// <remarks>
/// <para>What is read: <c>advanced.encryptInternalTraffic</c> and <c>advanced.internalCerts</c>. The file may wrap
/// everything in a top-level <c>"properties": {...}</c>, which is stripped; error paths then start with
/// <c>properties.</c>, as in the file.</para>
/// <para>What is accepted and not read, because it configures other parts of the broker: <c>advanced.clients</c>
/// (the MQTT clients' limits) and the resource's other top-level properties (<c>cardinality</c>,
/// <c>diagnostics</c>, <c>diskBackedMessageBuffer</c>, <c>generateResourceLimits</c>, <c>memoryProfile</c>,
/// <c>persistence</c>). Any other property is an error.</para>
/// <para>Our choices where the product is silent: the JSON is strict (no comments, no trailing commas), as
/// the Azure CLI reads it; property names are case-sensitive, as the resource's; enum values
/// (<c>Enabled</c>, <c>Ec256</c>, <c>Always</c>...) are accepted in any case, with a warning when the spelling
/// is not the resource's; durations are Go durations in h, m and s (fractions allowed, as <c>1.5h</c>),
/// the units the resource documents, though cert-manager would also read ms, us and ns; <c>null</c> is
/// refused (leave the property out for the default).</para>
/// <para>Every error is collected and reported together in one <see cref="BrokerConfigException"/>.</para>
/// </remarks>
public sealed class BrokerConfigFile
{
    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
    };

    private BrokerConfigFile(BrokerConfig config, IReadOnlyList<BrokerConfigDiagnostic> warnings, string? path)
    {
        Config = config;
        Warnings = warnings;
        Path = path;
    }

    /// <summary>The configuration read; validated, and supported by this transport (<see cref="BrokerConfig.EnsureSupported"/> passed).</summary>
    public BrokerConfig Config { get; }

    /// <summary>
    /// What was accepted but deserves to be logged at start: <c>internalCerts</c> given while encryption is
    /// <c>Disabled</c> (it has no effect), encryption <c>Disabled</c> itself, an enum value spelled in
    /// another case than the resource's. Empty when there is nothing to say.
    /// </summary>
    public IReadOnlyList<BrokerConfigDiagnostic> Warnings { get; }

    /// <summary>The full path of the file read; null when the JSON came from <see cref="Parse"/>.</summary>
    public string? Path { get; }

    /// <summary>Reads and validates a broker config from JSON text.</summary>
    /// <param name="json">The file's content.</param>
    /// <returns>The configuration and its warnings.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="BrokerConfigException">The JSON is malformed, or values are wrong or unsupported; the exception lists every error with its path.</exception>
    public static BrokerConfigFile Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Read(Encoding.UTF8.GetBytes(json.TrimStart('\uFEFF')), filePath: null);
    }

    /// <summary>Reads and validates a broker config file. The file is read once; nothing watches it afterwards.</summary>
    /// <param name="path">The file's path, absolute or relative to the current directory.</param>
    /// <returns>The configuration and its warnings.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or blank.</exception>
    /// <exception cref="BrokerConfigException">
    /// The file is missing or unreadable (the message names its full path), the JSON is malformed, or values
    /// are wrong or unsupported; the exception lists every error with its path.
    /// </exception>
    public static BrokerConfigFile Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BrokerConfigException(fullPath, "it does not exist.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            var problem = Directory.Exists(fullPath) ? "it is a directory, not a file." : "access is denied.";
            throw new BrokerConfigException(fullPath, problem, e);
        }
        catch (IOException e)
        {
            throw new BrokerConfigException(fullPath, e.Message, e);
        }

        return Read(bytes, fullPath);
    }

    private static BrokerConfigFile Read(ReadOnlyMemory<byte> utf8, string? filePath)
    {
        if (utf8.Span.StartsWith(Encoding.UTF8.Preamble))
        {
            utf8 = utf8[Encoding.UTF8.Preamble.Length..];
        }

        if (utf8.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw Invalid(string.Empty, "The file is empty; it must hold a JSON object, such as {\"advanced\": {\"encryptInternalTraffic\": \"Enabled\"}}.", filePath);
        }

        // JsonDocument leaves strings' UTF-8 unchecked until they are read, and then throws an
        // InvalidOperationException: check it all first, and report where it breaks.
        if (FirstInvalidUtf8(utf8.Span) is { } invalid)
        {
            var (line, position) = LineAndPosition(utf8.Span, invalid);
            throw Invalid(string.Empty, $"Malformed JSON at line {line}, position {position}: the byte 0x{utf8.Span[invalid]:X2} is not UTF-8 text; save the file as UTF-8.", filePath);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, JsonOptions);
        }
        catch (JsonException e)
        {
            throw Invalid(string.Empty, DescribeMalformed(e), filePath);
        }

        using (document)
        {
            if (FirstLoneSurrogate(utf8.Span) is { } lone)
            {
                var (line, position) = LineAndPosition(utf8.Span, lone);
                throw Invalid(string.Empty, $"Malformed JSON at line {line}, position {position}: a string holds an escaped lone surrogate (a \\uD800-\\uDFFF escape without its pair), which is not text.", filePath);
            }

            var reader = new BrokerConfigReader();
            var config = reader.Read(document.RootElement);
            if (config is null)
            {
                throw new BrokerConfigException(reader.Errors, filePath);
            }

            return new BrokerConfigFile(config, reader.Warnings, filePath);
        }
    }

    /// <summary>The reader's reason, at a 1-based line and position (as editors count; the reader's are 0-based), without its advice to developers.</summary>
    private static string DescribeMalformed(JsonException e)
    {
        var reason = e.Message;
        var cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        reason = (cut > 0 ? reason[..cut] : reason).Replace(" Change the reader options.", string.Empty, StringComparison.Ordinal);
        if (reason.Contains("comment", StringComparison.OrdinalIgnoreCase) || reason.Contains("trailing comma", StringComparison.OrdinalIgnoreCase)
            || reason.StartsWith("'/'", StringComparison.Ordinal))
        {
            reason += " The file must be strict JSON: no comments, no trailing commas.";
        }

        return $"Malformed JSON at line {(e.LineNumber ?? 0) + 1}, position {(e.BytePositionInLine ?? 0) + 1}: {reason}";
    }

    private static int? FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        if (Utf8.IsValid(utf8))
        {
            return null;
        }

        var index = 0;
        while (Rune.DecodeFromUtf8(utf8[index..], out _, out var consumed) == OperationStatus.Done)
        {
            index += consumed;
        }

        return index;
    }

    /// <summary>
    /// Where the first string or property name with an escaped lone surrogate (<c>"\ud800"</c>) starts, if any. Such
    /// an escape is valid JSON syntax, so JsonDocument accepts it, but no string can hold it: reading it throws an
    /// InvalidOperationException (found by fuzzing; see fuzz/Broker.Transport.Fuzz/findings/config).
    /// </summary>
    private static int? FirstLoneSurrogate(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = JsonOptions.MaxDepth });
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                try
                {
                    reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    return (int)reader.TokenStartIndex;
                }
            }
        }

        return null;
    }

    /// <summary>The 1-based line and byte position of <paramref name="index"/>, as the JSON reader counts them.</summary>
    private static (int Line, int Position) LineAndPosition(ReadOnlySpan<byte> utf8, int index)
    {
        var before = utf8[..index];
        var lineStart = before.LastIndexOf((byte)'\n') + 1;
        return (before.Count((byte)'\n') + 1, index - lineStart + 1);
    }

    private static BrokerConfigException Invalid(string path, string message, string? filePath) =>
        new([new BrokerConfigDiagnostic(path, message)], filePath);
}
