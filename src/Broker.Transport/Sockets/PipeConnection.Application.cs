using System.IO.Pipelines;
using System.Runtime.ExceptionServices;

namespace Broker.Transport.Sockets;

internal abstract partial class PipeConnection
{
    // The pumps learn of an abort asynchronously (a canceled read, a failed socket call), and only then
    // complete the pipes with the reason. Until they do, the pipes themselves would still hand the
    // application buffered bytes and accept flushes that are then dropped. These thin ends close that
    // window: from the moment Abort returns, every read and flush fails with the reason, as Abort promises.
    // The pumps and DisposeAsync keep using the pipes themselves.

    /// <summary>The application's end of the input pipe.</summary>
    private sealed class ApplicationReader(PipeConnection owner, PipeReader inner) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
            => owner.AbortReason is { } reason ? ValueTask.FromException<ReadResult>(reason) : inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result)
        {
            if (owner.AbortReason is { } reason)
            {
                ExceptionDispatchInfo.Throw(reason);
            }

            return inner.TryRead(out result);
        }

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }

    /// <summary>The application's end of the output pipe.</summary>
    private sealed class ApplicationWriter(PipeConnection owner, PipeWriter inner) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
            => owner.AbortReason is { } reason ? ValueTask.FromException<FlushResult>(reason) : inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
            => owner.AbortReason is { } reason ? ValueTask.FromException<FlushResult>(reason) : inner.WriteAsync(source, cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
