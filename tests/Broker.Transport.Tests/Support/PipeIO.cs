using System.Buffers;
using System.IO.Pipelines;

namespace Broker.Transport.Tests.Support;

/// <summary>Reading a whole pipe, the plain way an application would.</summary>
internal static class PipeIO
{
    /// <summary>Reads until the writer completes and returns every byte. Throws what the pipe throws.</summary>
    public static async Task<byte[]> ReadToEndAsync(this PipeReader reader, CancellationToken cancellationToken)
    {
        var received = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            foreach (var segment in result.Buffer)
            {
                received.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return received.WrittenSpan.ToArray();
            }
        }
    }

    /// <summary>Writes <paramref name="bytes"/> in chunks of <paramref name="chunkSize"/>, flushing each.</summary>
    public static async Task WriteInChunksAsync(this PipeWriter writer, ReadOnlyMemory<byte> bytes, int chunkSize, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < bytes.Length; offset += chunkSize)
        {
            var chunk = bytes.Slice(offset, Math.Min(chunkSize, bytes.Length - offset));
            var flush = await writer.WriteAsync(chunk, cancellationToken);
            if (flush.IsCompleted)
            {
                throw new InvalidOperationException($"The reader stopped reading after {offset} of {bytes.Length} bytes.");
            }
        }
    }
}
