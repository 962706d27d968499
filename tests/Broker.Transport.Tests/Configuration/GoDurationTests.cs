using Broker.Transport.Configuration;
using CsCheck;

namespace Broker.Transport.Tests.Configuration;

public class GoDurationTests
{
    private const long Ns = 1;
    private const long Us = 1000 * Ns;
    private const long Ms = 1000 * Us;
    private const long Sec = 1000 * Ms;
    private const long Min = 60 * Sec;
    private const long Hour = 60 * Min;

    /// <summary>Go's own cases for time.ParseDuration (time_test.go), in nanoseconds, plus the Broker resource's examples.</summary>
    public static TheoryData<string, long> Valid => new()
    {
        { "240h", 240 * Hour },
        { "45m", 45 * Min },
        { "1h30m", (1 * Hour) + (30 * Min) },
        { "90s", 90 * Sec },
        { "2160h", 2160 * Hour },
        { "0", 0 },
        { "5s", 5 * Sec },
        { "30s", 30 * Sec },
        { "1478s", 1478 * Sec },
        { "-5s", -5 * Sec },
        { "+5s", 5 * Sec },
        { "-0", 0 },
        { "+0", 0 },
        { "5.0s", 5 * Sec },
        { "5.6s", (5 * Sec) + (600 * Ms) },
        { "5.s", 5 * Sec },
        { ".5s", 500 * Ms },
        { "1.0s", 1 * Sec },
        { "1.00s", 1 * Sec },
        { "1.004s", (1 * Sec) + (4 * Ms) },
        { "1.0040s", (1 * Sec) + (4 * Ms) },
        { "100.00100s", (100 * Sec) + (1 * Ms) },
        { "10ns", 10 * Ns },
        { "11us", 11 * Us },
        { "12µs", 12 * Us },
        { "12μs", 12 * Us },
        { "13ms", 13 * Ms },
        { "14s", 14 * Sec },
        { "15m", 15 * Min },
        { "16h", 16 * Hour },
        { "3h30m", (3 * Hour) + (30 * Min) },
        { "10.5s4m", (4 * Min) + (10 * Sec) + (500 * Ms) },
        { "-2m3.4s", -((2 * Min) + (3 * Sec) + (400 * Ms)) },
        { "1h2m3s4ms5us6ns", (1 * Hour) + (2 * Min) + (3 * Sec) + (4 * Ms) + (5 * Us) + (6 * Ns) },
        { "39h9m14.425s", (39 * Hour) + (9 * Min) + (14 * Sec) + (425 * Ms) },
        { "52763797000ns", 52763797000 * Ns },
        { "0.3333333333333333333h", 20 * Min },
        { "9007199254740993ns", (1L << 53) + 1 },
        { "9223372036854775807ns", long.MaxValue },
        { "9223372036854775.807us", long.MaxValue },
        { "9223372036s854ms775us807ns", long.MaxValue },
        { "-9223372036854775808ns", long.MinValue },
        { "-9223372036854775.808us", long.MinValue },
        { "-9223372036s854ms775us808ns", long.MinValue },
        { "-2562047h47m16.854775808s", long.MinValue },
        { "0.100000000000000000000h", 6 * Min },
        { "0.830103483285477580700h", (49 * Min) + (48 * Sec) + 372539827 },
        { "1.5h", 90 * Min },
    };

    /// <summary>Go's refused cases, and the message each must give.</summary>
    public static TheoryData<string, string> Invalid => new()
    {
        { "", "is empty" },
        { "3", "without a unit" },
        { "240", "without a unit" },
        { "1h30", "without a unit" },
        { "-", "no number" },
        { "s", "expected a number" },
        { ".", "needs digits" },
        { "-.", "needs digits" },
        { ".s", "needs digits" },
        { "+.s", "needs digits" },
        { "1d", "unknown unit \"d\"" },
        { "1H", "unknown unit \"H\"" },
        { "1 h", "unknown unit \" h\"" },
        { " 1h", "expected a number" },
        { "1h ", "unknown unit \"h \"" },
        { "1hour", "unknown unit \"hour\"" },
        { "\u0085\u0085", "expected a number" },
        { "hello \uffff world", "expected a number" },
        { "1e3s", "unknown unit \"e\"" },
    };

    public static TheoryData<string> Overflowing => new()
    {
        "9223372036854775808ns",
        "9223372036854775.808us",
        "9223372036854ms775us808ns",
        "-9223372036854775809ns",
        "2562048h",
        "9223372036854s775ms807us",
        "99999999999999999999h",
        "1000000000000000000000ns",
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parses_what_Go_parses_truncated_to_whole_ticks(string text, long nanoseconds)
    {
        var expected = TimeSpan.FromTicks(nanoseconds / 100);
        Assert.Equal(expected, GoDuration.Parse(text));
        Assert.True(GoDuration.TryParse(text, out var parsed, out var error));
        Assert.Equal(expected, parsed);
        Assert.Null(error);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Refuses_what_Go_refuses_and_says_why(string text, string why)
    {
        var e = Assert.Throws<FormatException>(() => GoDuration.Parse(text));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.False(GoDuration.TryParse(text, out var parsed, out var error));
        Assert.Equal(TimeSpan.Zero, parsed);
        Assert.Equal(e.Message, error);
    }

    [Theory]
    [MemberData(nameof(Overflowing))]
    public void Refuses_durations_beyond_Gos_range_as_an_overflow(string text)
    {
        var e = Assert.Throws<OverflowException>(() => GoDuration.Parse(text));
        Assert.Contains("too large", e.Message, StringComparison.Ordinal);
        Assert.Contains("2562047h", e.Message, StringComparison.Ordinal);
        Assert.False(GoDuration.TryParse(text, out _));
    }

    [Fact]
    public void A_missing_unit_names_the_units_and_gives_examples()
    {
        var e = Assert.Throws<FormatException>(() => GoDuration.Parse("240"));
        Assert.Equal("\"240\" has a number without a unit; put h, m or s after each number, such as \"240h\" or \"1h30m\"", e.Message);
    }

    [Fact]
    public void Null_is_an_argument_error_for_Parse_and_a_failure_for_TryParse()
    {
        Assert.Throws<ArgumentNullException>(() => GoDuration.Parse(null!));
        Assert.False(GoDuration.TryParse(null, out _, out var error));
        Assert.Contains("No duration", error, StringComparison.Ordinal);
    }

    public static TheoryData<TimeSpan, string> Formatted => new()
    {
        { TimeSpan.Zero, "0s" },
        { TimeSpan.FromHours(240), "240h" },
        { TimeSpan.FromHours(2160), "2160h" },
        { TimeSpan.FromMinutes(45), "45m" },
        { TimeSpan.FromMinutes(90), "1h30m" },
        { TimeSpan.FromSeconds(90), "1m30s" },
        { TimeSpan.FromSeconds(3605), "1h5s" },
        { TimeSpan.FromMilliseconds(1500), "1.5s" },
        { TimeSpan.FromMilliseconds(250), "0.25s" },
        { TimeSpan.FromTicks(1), "0.0000001s" },
        { TimeSpan.FromMinutes(-45), "-45m" },
        { GoDuration.MaxValue, "2562047h47m16.8547758s" },
        { GoDuration.MinValue, "-2562047h47m16.8547758s" },
    };

    [Theory]
    [MemberData(nameof(Formatted))]
    public void Formats_as_people_write_Go_durations(TimeSpan value, string expected)
    {
        Assert.Equal(expected, GoDuration.Format(value));
        Assert.Equal(value, GoDuration.Parse(expected));
    }

    [Fact]
    public void Refuses_to_format_what_Go_cannot_represent()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => GoDuration.Format(GoDuration.MaxValue + TimeSpan.FromTicks(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => GoDuration.Format(TimeSpan.MinValue));
    }

    [Fact]
    public void Format_then_Parse_gives_back_every_duration_in_Gos_range() =>
        Gen.Long[GoDuration.MinValue.Ticks, GoDuration.MaxValue.Ticks]
            .Select(TimeSpan.FromTicks)
            .Sample(value => Assert.Equal(value, GoDuration.Parse(GoDuration.Format(value))));

    [Fact]
    public void Parse_then_Format_then_Parse_is_stable_for_hours_minutes_and_seconds() =>
        Gen.Select(Gen.Int[0, 100_000], Gen.Int[0, 59], Gen.Int[0, 59], Gen.Int[0, 999])
            .Select((h, m, s, ms) => $"{h}h{m}m{s}.{ms:D3}s")
            .Sample(text =>
            {
                var once = GoDuration.Parse(text);
                Assert.Equal(once, GoDuration.Parse(GoDuration.Format(once)));
            });
}
