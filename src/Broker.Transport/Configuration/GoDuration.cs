using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Broker.Transport.Configuration;

/// <summary>
/// Go duration strings (<c>240h</c>, <c>45m</c>, <c>1h30m</c>, <c>1.5h</c>), as the Broker resource writes
/// <c>internalCerts.duration</c> and <c>renewBefore</c> and as cert-manager reads them.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Parse"/> accepts exactly what Go's <c>time.ParseDuration</c> accepts: an optional sign, then one
/// or more decimal numbers (with an optional fraction) each followed by a unit among <c>h</c>, <c>m</c>,
/// <c>s</c>, <c>ms</c>, <c>us</c> (or <c>µs</c>, <c>μs</c>) and <c>ns</c>; <c>"0"</c> alone means zero. Units are
/// case-sensitive and no spaces are allowed. It is a port of Go's algorithm, including its use of a
/// float64 for fractions, so that a string means the same here as in cert-manager
/// (https://pkg.go.dev/time#ParseDuration).
/// </para>
/// <para>
/// Go counts nanoseconds in an <see cref="long"/>: the range is about ±2562047 hours (292 years), and a
/// value beyond it is refused as Go refuses it. <see cref="TimeSpan"/> counts 100-nanosecond ticks, so a
/// parsed value is truncated toward zero to a whole tick (<c>"150ns"</c> reads as 100 ns).
/// </para>
/// <para>
/// The broker config reader accepts only the units the Broker resource documents (h, m, s); this class
/// accepts all of Go's.
/// </para>
/// </remarks>
public static partial class GoDuration
{
    /// <summary>The largest duration Go can represent (2^63 - 1 ns), truncated to a whole tick: 2562047h47m16.8547758s.</summary>
    public static readonly TimeSpan MaxValue = TimeSpan.FromTicks(long.MaxValue / NanosecondsPerTick);

    /// <summary>The most negative duration Go can represent (-2^63 ns), truncated toward zero to a whole tick.</summary>
    public static readonly TimeSpan MinValue = TimeSpan.FromTicks(long.MinValue / NanosecondsPerTick);

    private const long NanosecondsPerTick = 100;
    private const ulong Nanosecond = 1;
    private const ulong Microsecond = 1000 * Nanosecond;
    private const ulong Millisecond = 1000 * Microsecond;
    private const ulong Second = 1000 * Millisecond;
    private const ulong Minute = 60 * Second;
    private const ulong Hour = 60 * Minute;
    private const ulong SignBit = 1UL << 63;

    /// <summary>Reads a Go duration string.</summary>
    /// <param name="value">The string, such as <c>"240h"</c> or <c>"1h30m"</c>.</param>
    /// <returns>The duration, truncated toward zero to a whole 100-ns tick.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    /// <exception cref="FormatException">The string is not a Go duration; the message says why.</exception>
    /// <exception cref="OverflowException">The duration is beyond Go's range (about 2562047h).</exception>
    public static TimeSpan Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (TryParse(value, hoursMinutesSecondsOnly: false, out var result, out var error, out var overflow))
        {
            return result;
        }

        throw overflow ? new OverflowException(error) : new FormatException(error);
    }

    /// <summary>Reads a Go duration string without throwing.</summary>
    /// <param name="value">The string, such as <c>"240h"</c> or <c>"1h30m"</c>.</param>
    /// <param name="result">The duration, truncated toward zero to a whole 100-ns tick; zero on failure.</param>
    /// <returns>Whether <paramref name="value"/> is a Go duration within Go's range.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, out TimeSpan result) =>
        TryParse(value, out result, out _);

    /// <summary>Reads a Go duration string without throwing, and says what is wrong when it cannot.</summary>
    /// <param name="value">The string, such as <c>"240h"</c> or <c>"1h30m"</c>.</param>
    /// <param name="result">The duration, truncated toward zero to a whole 100-ns tick; zero on failure.</param>
    /// <param name="error">On failure, a sentence that quotes the string and says what is wrong (empty, missing unit, unknown unit, out of range, malformed).</param>
    /// <returns>Whether <paramref name="value"/> is a Go duration within Go's range.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, out TimeSpan result, [NotNullWhen(false)] out string? error) =>
        TryParse(value, hoursMinutesSecondsOnly: false, out result, out error, out _);

    /// <summary>
    /// Writes a duration as a Go duration string that Go's <c>time.ParseDuration</c> and <see cref="Parse"/>
    /// read back to the same value: hours, minutes and seconds with the zero parts left out (<c>240h</c>,
    /// <c>1h30m</c>, <c>45m</c>, <c>1h5s</c>), a fraction of a second in decimal (<c>0.25s</c>), <c>0s</c> for zero.
    /// </summary>
    /// <remarks>Unlike Go's <c>Duration.String</c> (<c>240h0m0s</c>), zero parts are left out, as people write them.</remarks>
    /// <param name="value">The duration, between <see cref="MinValue"/> and <see cref="MaxValue"/>.</param>
    /// <returns>The Go duration string.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is beyond Go's range.</exception>
    public static string Format(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(value, MinValue);
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        // Within Go's range the tick count is far from long.MinValue, so negating it is safe.
        var ticks = value.Ticks < 0 ? -value.Ticks : value.Ticks;
        var hours = ticks / TimeSpan.TicksPerHour;
        var minutes = ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute;
        var seconds = ticks % TimeSpan.TicksPerMinute / TimeSpan.TicksPerSecond;
        var fraction = ticks % TimeSpan.TicksPerSecond;

        var text = new StringBuilder(24);
        if (value.Ticks < 0)
        {
            text.Append('-');
        }

        if (hours > 0)
        {
            text.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (minutes > 0)
        {
            text.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        if (seconds > 0 || fraction > 0)
        {
            text.Append(seconds.ToString(CultureInfo.InvariantCulture));
            if (fraction > 0)
            {
                text.Append('.').Append(fraction.ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0'));
            }

            text.Append('s');
        }

        return text.ToString();
    }

    private static string Quote(string value) => value.Length <= 40 ? $"\"{value}\"" : $"\"{value[..37]}...\"";
}
