using System.Globalization;
using System.Text;

namespace Broker.Transport.Certificates;

/// <summary>
/// Text a certificate holds, which whoever made it controls (a subject, an issuer, names), made safe for a log line or an exception
/// message: control characters become <c>\xNN</c> (and the characters that reorder or break lines,
/// <c>\uNNNN</c>), a backslash becomes <c>\\</c>, and the text is cut after a bound. A subject holding ESC,
/// <c>\r</c> or <c>\n</c> would otherwise put terminal escapes and forged lines into the operator's log.
/// </summary>
internal static class CertificateText
{
    /// <summary>The longest piece of peer text written out (a subject, one name), in characters.</summary>
    public const int MaxLength = 256;

    /// <summary>How many of a list's items (names, roots) are written out before "and N more".</summary>
    public const int MaxItems = 8;

    /// <summary>Escapes <paramref name="text"/> and cuts it after <paramref name="maxLength"/> characters of the original.</summary>
    public static string Escape(string? text, int maxLength = MaxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        if (text.Length <= maxLength && !NeedsEscaping(text))
        {
            return text;
        }

        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 16);
        var shown = Math.Min(text.Length, maxLength);
        for (var i = 0; i < shown; i++)
        {
            Append(builder, text[i]);
        }

        if (text.Length > maxLength)
        {
            builder.Append(CultureInfo.InvariantCulture, $"... ({text.Length - maxLength} more characters)");
        }

        return builder.ToString();
    }

    /// <summary>The first <see cref="MaxItems"/> items, escaped and joined, then "and N more".</summary>
    public static string List(IEnumerable<string> items, string separator = ", ", int maxItems = MaxItems)
    {
        var builder = new StringBuilder();
        var count = 0;
        foreach (var item in items)
        {
            if (count < maxItems)
            {
                if (count > 0)
                {
                    builder.Append(separator);
                }

                builder.Append(Escape(item));
            }

            count++;
        }

        if (count > maxItems)
        {
            builder.Append(CultureInfo.InvariantCulture, $" and {count - maxItems} more");
        }

        return builder.ToString();
    }

    private static bool NeedsEscaping(string text)
    {
        foreach (var c in text)
        {
            if (IsUnsafe(c) || c == '\\')
            {
                return true;
            }
        }

        return false;
    }

    private static void Append(StringBuilder builder, char c)
    {
        if (c == '\\')
        {
            builder.Append(@"\\");
        }
        else if (c <= 0xff && char.IsControl(c))
        {
            builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
        }
        else if (IsUnsafe(c))
        {
            builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        }
        else
        {
            builder.Append(c);
        }
    }

    // C0, DEL and C1 controls; line and paragraph separators; the bidirectional overrides and isolates, which
    // make a terminal show text in another order than it was written (CVE-2021-42574, "Trojan Source"); lone
    // surrogates, which are not text.
    private static bool IsUnsafe(char c)
        => char.IsControl(c)
            || c is '\u2028' or '\u2029' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069')
            || char.IsSurrogate(c);
}
