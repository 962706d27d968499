using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Broker.Transport.Hosting;

/// <summary>
/// Writes a configuration subtree back as the JSON it stands for, so the broker config given inline goes
/// through the config file's parser and gets its messages. Every value is a string, as configuration holds
/// them; the broker config's fields that the transport reads are strings in the file too.
/// </summary>
internal static class ConfigurationJson
{
    public static string Write(IConfigurationSection section)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteObject(writer, section);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteObject(Utf8JsonWriter writer, IConfiguration section)
    {
        writer.WriteStartObject();
        foreach (var child in section.GetChildren())
        {
            writer.WritePropertyName(child.Key);
            if (child.Value is { } value && !child.GetChildren().Any())
            {
                writer.WriteStringValue(value);
            }
            else
            {
                WriteObject(writer, child);
            }
        }

        writer.WriteEndObject();
    }
}
