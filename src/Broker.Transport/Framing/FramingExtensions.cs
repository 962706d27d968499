using System.Buffers;
using System.IO.Pipelines;
using Broker.Transport.Connections;

namespace Broker.Transport.Framing;

/// <summary>
/// Frames on a <see cref="TransportConnection"/>: the one way to write a frame is <c>WriteFrame</c> on any
/// <see cref="IBufferWriter{T}"/> (a <see cref="PipeWriter"/> is one), then a flush, or <c>WriteFrameAsync</c> for both.
/// </summary>
public static class FramingExtensions
{
    /// <summary>
    /// Creates a frame reader over the connection's input that also aborts the connection, with the
    /// reason, when the peer breaks the framing.
    /// </summary>
    /// <param name="connection">The connection to read frames from.</param>
    /// <param name="maxFrameSize">The largest payload accepted. Defaults to <see cref="FrameFormat.DefaultMaxFrameSize"/> (1 MiB).</param>
    public static FrameReader CreateFrameReader(this TransportConnection connection, int maxFrameSize = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new FrameReader(connection.Input, maxFrameSize, error => connection.Abort(error.Message));
    }

    /// <summary>Writes one frame into the writer (a connection's <c>Output</c>) without flushing; call <c>FlushAsync</c> to send what was written.</summary>
    public static void WriteFrame(this IBufferWriter<byte> writer, ReadOnlySpan<byte> payload) => FrameFormat.WriteFrame(writer, payload);

    /// <summary>Writes one frame whose payload is a sequence, without flushing.</summary>
    public static void WriteFrame(this IBufferWriter<byte> writer, in ReadOnlySequence<byte> payload) => FrameFormat.WriteFrame(writer, payload);

    /// <summary>Writes one frame and flushes it. The flush waits while the peer is not keeping up (backpressure).</summary>
    /// <returns>The flush result; <see cref="FlushResult.IsCompleted"/> means the peer no longer reads.</returns>
    public static ValueTask<FlushResult> WriteFrameAsync(this PipeWriter writer, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        FrameFormat.WriteFrame(writer, payload.Span);
        return writer.FlushAsync(cancellationToken);
    }
}
