using Bogus;

namespace Broker.Transport.Benchmarks;

/// <summary>The mixed workload: frame sizes spread as a plant's traffic might be.</summary>
internal static partial class Telemetry
{
    /// <summary>
    /// The spread of <see cref="Mixed"/>, ours (no site's figures are public): most frames one reading, a
    /// quarter small batches, a tenth a gateway's buffered burst, a few retained-state snapshots and, rarely,
    /// a firmware or file chunk. Each entry: its share of frames and its size range in bytes.
    /// </summary>
    public static readonly (double Share, int MinSize, int MaxSize, string What)[] MixedSpread =
    [
        (0.60, 0, 0, "one reading (180-240 B)"),
        (0.25, 400, 2_400, "a batch of 2-10 readings"),
        (0.10, 4 * 1024, 16 * 1024, "a gateway's buffered burst"),
        (0.04, 64 * 1024, 64 * 1024, "a retained-state snapshot"),
        (0.01, 128 * 1024, 1024 * 1024, "a firmware or file chunk"),
    ];

    /// <summary>
    /// Makes <paramref name="count"/> payloads whose sizes follow <see cref="MixedSpread"/>, from a fixed seed:
    /// single readings as they are, larger payloads made of readings back to back.
    /// </summary>
    public static byte[][] Mixed(int count, int seed)
    {
        var faker = new Faker("en") { Random = new Randomizer(seed) };
        var payloads = new byte[count][];
        var sequence = 0;
        for (var i = 0; i < count; i++)
        {
            var pick = faker.Random.Double();
            var (_, min, max, _) = MixedSpread[^1];
            foreach (var entry in MixedSpread)
            {
                if (pick < entry.Share)
                {
                    (min, max) = (entry.MinSize, entry.MaxSize);
                    break;
                }

                pick -= entry.Share;
            }

            payloads[i] = max == 0 ? Message(faker, sequence++) : Fill(faker, faker.Random.Int(min, max), ref sequence);
        }

        return payloads;
    }
}
