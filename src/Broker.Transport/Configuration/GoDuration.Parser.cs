using System.Diagnostics.CodeAnalysis;

namespace Broker.Transport.Configuration;

/// <summary>The parser: Go's <c>time.ParseDuration</c>, step for step (https://go.dev/src/time/format.go).</summary>
public static partial class GoDuration
{
    /// <summary>The parser behind the public methods; <paramref name="hoursMinutesSecondsOnly"/> refuses ms, us and ns as the Broker resource does.</summary>
    internal static bool TryParse(
        [NotNullWhen(true)] string? value,
        bool hoursMinutesSecondsOnly,
        out TimeSpan result,
        [NotNullWhen(false)] out string? error,
        out bool overflow)
    {
        result = TimeSpan.Zero;
        overflow = false;
        if (string.IsNullOrEmpty(value))
        {
            error = $"{(value is null ? "No duration was given" : "\"\" is empty")}; a duration is a number and a unit, such as \"240h\", \"45m\" or \"1h30m\"";
            return false;
        }

        var quoted = Quote(value);
        var s = value.AsSpan();
        var negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        // Go's special case: "0" alone (signed or not) is zero, the one number allowed without a unit.
        if (s is "0")
        {
            error = null;
            return true;
        }

        if (s.IsEmpty)
        {
            error = $"{quoted} has a sign but no number; write a duration such as \"240h\"";
            return false;
        }

        ulong total = 0;
        while (!s.IsEmpty)
        {
            if (s[0] != '.' && !char.IsAsciiDigit(s[0]))
            {
                error = $"{quoted} is not a Go duration: expected a number at \"{s}\"; write numbers followed by units, such as \"1h30m\"";
                return false;
            }

            // The integer part: [0-9]*
            var before = s.Length;
            if (!LeadingInt(ref s, out var whole))
            {
                overflow = true;
                error = $"{quoted} is too large: Go durations end at about 2562047h (292 years)";
                return false;
            }

            var hasWhole = s.Length != before;

            // The fraction: (\.[0-9]*)?
            ulong fraction = 0;
            double scale = 1;
            var hasFraction = false;
            if (!s.IsEmpty && s[0] == '.')
            {
                s = s[1..];
                before = s.Length;
                LeadingFraction(ref s, out fraction, out scale);
                hasFraction = s.Length != before;
            }

            if (!hasWhole && !hasFraction)
            {
                error = $"{quoted} is not a Go duration: a '.' needs digits beside it";
                return false;
            }

            // The unit: everything up to the next digit or '.'.
            var unitLength = 0;
            while (unitLength < s.Length && s[unitLength] != '.' && !char.IsAsciiDigit(s[unitLength]))
            {
                unitLength++;
            }

            if (unitLength == 0)
            {
                error = $"{quoted} has a number without a unit; put h, m or s after each number, such as \"240h\" or \"1h30m\"";
                return false;
            }

            var unitText = s[..unitLength].ToString();
            s = s[unitLength..];
            var unit = UnitOf(unitText);
            if (unit == 0)
            {
                error = $"{quoted} has an unknown unit \"{unitText}\"; the units are h, m and s{(hoursMinutesSecondsOnly ? string.Empty : " (and Go's ms, us, ns)")}, lower case";
                return false;
            }

            if (hoursMinutesSecondsOnly && unit < Second)
            {
                error = $"{quoted} uses the unit \"{unitText}\", which Go reads but the Broker resource does not document; write the duration in h, m and s (such as \"90s\")";
                return false;
            }

            // Go's overflow checks, in Go's order: the value of this part, then the running total.
            if (whole > SignBit / unit)
            {
                overflow = true;
                error = $"{quoted} is too large: Go durations end at about 2562047h (292 years)";
                return false;
            }

            whole *= unit;
            if (fraction > 0)
            {
                // As Go: a float64 keeps fractions of hours accurate to the nanosecond.
                whole += (ulong)(fraction * (unit / scale));
                if (whole > SignBit)
                {
                    overflow = true;
                    error = $"{quoted} is too large: Go durations end at about 2562047h (292 years)";
                    return false;
                }
            }

            total += whole;
            if (total > SignBit)
            {
                overflow = true;
                error = $"{quoted} is too large: Go durations end at about 2562047h (292 years)";
                return false;
            }
        }

        if (!negative && total > long.MaxValue)
        {
            overflow = true;
            error = $"{quoted} is too large: Go durations end at about 2562047h (292 years)";
            return false;
        }

        // total <= 2^63 here; 2^63 only when negative, which is exactly long.MinValue nanoseconds.
        var ticks = (long)(total / NanosecondsPerTick);
        result = TimeSpan.FromTicks(negative ? -ticks : ticks);
        error = null;
        return true;
    }

    private static ulong UnitOf(string unit) => unit switch
    {
        "h" => Hour,
        "m" => Minute,
        "s" => Second,
        "ms" => Millisecond,
        "us" or "\u00b5s" or "\u03bcs" => Microsecond,
        "ns" => Nanosecond,
        _ => 0,
    };

    /// <summary>Consumes [0-9]*; false on overflow past 2^63, as Go's <c>leadingInt</c>.</summary>
    private static bool LeadingInt(ref ReadOnlySpan<char> s, out ulong value)
    {
        value = 0;
        var i = 0;
        for (; i < s.Length && char.IsAsciiDigit(s[i]); i++)
        {
            if (value > SignBit / 10)
            {
                return false;
            }

            value = (value * 10) + (ulong)(s[i] - '0');
            if (value > SignBit)
            {
                return false;
            }
        }

        s = s[i..];
        return true;
    }

    /// <summary>Consumes [0-9]* after a '.'; past 2^63 it stops gaining precision, as Go's <c>leadingFraction</c>.</summary>
    private static void LeadingFraction(ref ReadOnlySpan<char> s, out ulong value, out double scale)
    {
        value = 0;
        scale = 1;
        var overflowed = false;
        var i = 0;
        for (; i < s.Length && char.IsAsciiDigit(s[i]); i++)
        {
            if (overflowed)
            {
                continue;
            }

            if (value > long.MaxValue / 10)
            {
                overflowed = true;
                continue;
            }

            var next = (value * 10) + (ulong)(s[i] - '0');
            if (next > SignBit)
            {
                overflowed = true;
                continue;
            }

            value = next;
            scale *= 10;
        }

        s = s[i..];
    }
}
