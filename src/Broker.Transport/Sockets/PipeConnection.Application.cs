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

    //
    // The input pipe's writer completes without an error even when the receive loop ended with one (a reset, a cut
    // TLS stream): a pipe completed with an error throws at the next read, and would drop whole frames that arrived
    // before the end but were not read yet. Here the application first gets what arrived, then the error: once the
    // data left is all it has already seen (a partial frame, say, which is never delivered), the read throws.

    /// <summary>The application's end of the input pipe.</summary>
    private sealed class ApplicationReader(PipeConnection owner, PipeReader inner) : PipeReader
    {
        // The length of what was handed out last after the input had ended with an error: no progress, then the error.
        private long _handedOut = -1;

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            if (owner.AbortReason is { } reason)
            {
                return ValueTask.FromException<ReadResult>(reason);
            }

            var read = inner.ReadAsync(cancellationToken);
            return read.IsCompletedSuccessfully ? new ValueTask<ReadResult>(AfterEnd(read.Result)) : ReadSlowAsync(read);
        }

        public override bool TryRead(out ReadResult result)
        {
            if (owner.AbortReason is { } reason)
            {
                ExceptionDispatchInfo.Throw(reason);
            }

            if (!inner.TryRead(out result))
            {
                return false;
            }

            result = AfterEnd(result);
            return true;
        }

        private async ValueTask<ReadResult> ReadSlowAsync(ValueTask<ReadResult> read) => AfterEnd(await read.ConfigureAwait(false));

        /// <summary>A read after the input ended with an error: what is left first (not completed yet), then the error.</summary>
        private ReadResult AfterEnd(ReadResult result)
        {
            if (!result.IsCompleted || owner.InputError is not { } error)
            {
                return result;
            }

            if (!result.Buffer.IsEmpty && result.Buffer.Length != _handedOut)
            {
                _handedOut = result.Buffer.Length;
                return new ReadResult(result.Buffer, result.IsCanceled, isCompleted: false);
            }

            ExceptionDispatchInfo.Throw(error);
            return default;
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
            => (owner.AbortReason ?? (Exception?)owner.CloseReason) is { } reason ? ValueTask.FromException<FlushResult>(reason) : inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
            => (owner.AbortReason ?? (Exception?)owner.CloseReason) is { } reason ? ValueTask.FromException<FlushResult>(reason) : inner.WriteAsync(source, cancellationToken);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
