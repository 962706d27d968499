using System.Text.Json;

namespace Broker.Transport.Configuration;

/// <summary>The reader's checks of one value: objects and their property names, enum strings, durations.</summary>
internal sealed partial class BrokerConfigReader
{
    /// <summary>
    /// The properties of an object, by name. Reports names given twice and unknown names (with a
    /// suggestion when one is close to a known name: names are case-sensitive, as the resource's). Known
    /// and ignored names are returned; the caller looks only at the known ones.
    /// </summary>
    private Dictionary<string, JsonElement> ReadObject(JsonElement element, string path, string[] known, string[] ignored)
    {
        var found = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var name = property.Name;
            var propertyPath = PathOf(path, name);
            if (!seen.Add(name))
            {
                Error(propertyPath, "is given more than once; give each property once.");
                continue;
            }

            if (known.Contains(name) || ignored.Contains(name))
            {
                found[name] = property.Value;
                continue;
            }

            var allowed = string.Join(", ", known.Concat(ignored).Order(StringComparer.Ordinal).Select(n => $"\"{n}\""));
            var holder = path.Length == 0 ? "The file's top level" : $"\"{path}\"";
            Error(propertyPath, Suggest(name, known) is { } suggestion
                ? $"is not a known property; did you mean \"{suggestion}\"? (Names are case-sensitive.) {holder} holds {allowed}."
                : $"is not a known property. {holder} holds {allowed}.");
        }

        return found;
    }

    private bool ExpectObject(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            return true;
        }

        Error(path, $"must be an object {{...}}; found {Describe(element)}.");
        return false;
    }

    /// <summary>
    /// An enum value by name. Names are matched ignoring case, for friendliness, with a warning when the
    /// spelling differs from the resource's (other readers of the same file may be strict); numbers are refused.
    /// </summary>
    private TEnum? ReadEnum<TEnum>(JsonElement element, string path)
        where TEnum : struct, Enum
    {
        var names = Enum.GetNames<TEnum>();
        var allowed = names.Length == 2
            ? $"\"{names[0]}\" or \"{names[1]}\""
            : "one of " + string.Join(", ", names.Select(n => $"\"{n}\""));
        if (element.ValueKind != JsonValueKind.String)
        {
            Error(path, $"must be a string, {allowed}; found {Describe(element)}.");
            return null;
        }

        var text = element.GetString()!;
        var match = names.FirstOrDefault(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            Error(path, $"{Quote(text)} is not allowed; use {allowed}.");
            return null;
        }

        if (!string.Equals(match, text, StringComparison.Ordinal))
        {
            Warn(path, $"{Quote(text)} is read as \"{match}\". The Broker resource spells it \"{match}\"; write it so, as other tools that read this file may not accept another spelling.");
        }

        return Enum.Parse<TEnum>(match);
    }

    /// <summary>
    /// A Go duration in the units the Broker resource documents (h, m, s; fractions allowed, as Go reads
    /// them), positive and at least <paramref name="minimum"/>.
    /// </summary>
    private TimeSpan? ReadDuration(JsonElement element, string path, TimeSpan minimum, string minimumSource)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            Error(path, $"must be a string holding a Go duration, such as \"240h\", \"45m\" or \"1h30m\"; found {Describe(element)}.");
            return null;
        }

        var text = element.GetString()!;
        if (!GoDuration.TryParse(text, hoursMinutesSecondsOnly: true, out var value, out var problem, out _))
        {
            Error(path, problem + ".");
            return null;
        }

        if (value < TimeSpan.Zero)
        {
            Error(path, $"{Quote(text)} is negative; a duration must be positive, such as \"{text.TrimStart('-')}\".");
            return null;
        }

        if (value < minimum)
        {
            Error(path, $"{Quote(text)} is too short: the minimum is {GoDuration.Format(minimum)} ({minimumSource}).");
            return null;
        }

        return value;
    }

    /// <summary>A JSON path child: <c>parent.name</c>, or <c>parent["odd name"]</c> when the name is not a plain identifier.</summary>
    private static string PathOf(string parent, string name)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            return $"{parent}[{JsonSerializer.Serialize(name)}]";
        }

        return parent.Length == 0 ? name : $"{parent}.{name}";
    }

    /// <summary>How a value looks, for "found ..." in messages.</summary>
    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string {Quote(element.GetString())}",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null (leave the property out instead)",
        JsonValueKind.Array => "an array [...]",
        JsonValueKind.Object => "an object {...}",
        _ => element.ValueKind.ToString(),
    };

    private static string Quote(string? text)
    {
        text ??= string.Empty;
        return JsonSerializer.Serialize(text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "..."));
    }

    /// <summary>The known name <paramref name="name"/> was probably meant to be: the same ignoring case, or at most two edits away.</summary>
    private static string? Suggest(string name, string[] known)
    {
        var caseOnly = known.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
        if (caseOnly is not null)
        {
            return caseOnly;
        }

        var upper = name.ToUpperInvariant();
        return known
            .Select(k => (Name: k, Distance: EditDistance(upper, k.ToUpperInvariant())))
            .Where(k => k.Distance <= 2)
            .OrderBy(k => k.Distance)
            .Select(k => k.Name)
            .FirstOrDefault();
    }

    /// <summary>Levenshtein distance: insertions, deletions and substitutions.</summary>
    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
