using TwoTierBroker.Protocol;

namespace TwoTierBroker.Backend;

/// <summary>
/// A QoS 1 publish whose deliveries are out: it is acknowledged to its publisher when every subscribed
/// frontend has confirmed its delivery, or answered <see cref="AckStatus.Retry"/> when one went away before
/// confirming (the publisher sends it again; those who had it get it twice, which QoS 1 allows).
/// </summary>
internal sealed class PublishTracker(FrontendSession publisher, ulong publishId, int deliveries)
{
    private int _remaining = deliveries;
    private int _lost;

    /// <summary>One delivery confirmed (<paramref name="delivered"/>) or lost with its frontend; the last one answers the publisher.</summary>
    public void Complete(bool delivered, CancellationToken cancellationToken)
    {
        if (!delivered)
        {
            Interlocked.Exchange(ref _lost, 1);
        }

        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _ = AnswerAsync(Volatile.Read(ref _lost) == 0 ? AckStatus.Accepted : AckStatus.Retry, cancellationToken);
        }
    }

    public Task AnswerAsync(AckStatus status, CancellationToken cancellationToken)
        => publisher.TrySendAsync(BrokerMessage.Ack(publishId, status, status == AckStatus.Retry ? "a subscribed frontend went away before confirming its delivery" : string.Empty), cancellationToken);
}
