using System.Buffers;

namespace Broker.Transport.Tests.Support;

/// <summary>Builds a <see cref="ReadOnlySequence{T}"/> whose segments break where a test says.</summary>
internal static class Segments
{
    /// <summary>
    /// Cuts <paramref name="bytes"/> into segments of the given sizes, taken in turn and repeated; a size of
    /// 0 makes an empty segment, which a sequence may legally contain.
    /// </summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, IReadOnlyList<int> sizes)
    {
        if (sizes.Count == 0 || sizes.All(static size => size == 0))
        {
            throw new ArgumentException("At least one segment size must be positive.", nameof(sizes));
        }

        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        for (var i = 0; offset < bytes.Length; i++)
        {
            var size = Math.Min(sizes[i % sizes.Count], bytes.Length - offset);

            // Each segment gets its own array, so nothing can read past a segment's end by accident.
            var segment = new Segment(bytes.AsSpan(offset, size).ToArray(), last?.RunningIndex + last?.Memory.Length ?? 0);
            last?.SetNext(segment);
            first ??= segment;
            last = segment;
            offset += size;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
