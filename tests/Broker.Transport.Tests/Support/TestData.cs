namespace Broker.Transport.Tests.Support;

/// <summary>Deterministic test bytes: the same seed gives the same bytes on every run and machine.</summary>
internal static class TestData
{
    /// <summary><paramref name="length"/> pseudo-random bytes from <paramref name="seed"/>.</summary>
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// The byte at <paramref name="position"/> of an endless counting stream. The cycle (251, a prime) is
    /// not a divisor of any buffer size, so a lost, repeated or reordered block shows up as a wrong byte.
    /// </summary>
    public static byte Counting(long position) => (byte)(position % 251);

    /// <summary>Fills <paramref name="destination"/> with the counting stream from <paramref name="position"/> on.</summary>
    public static void FillCounting(Span<byte> destination, long position)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = Counting(position + i);
        }
    }

    /// <summary>The index of the first byte of <paramref name="received"/> that is not the counting stream, or -1.</summary>
    public static long FirstCountingMismatch(ReadOnlySpan<byte> received, long position)
    {
        for (var i = 0; i < received.Length; i++)
        {
            if (received[i] != Counting(position + i))
            {
                return position + i;
            }
        }

        return -1;
    }
}
