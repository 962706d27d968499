using Broker.Transport.Security;
using Broker.Transport.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// The handshake's deadline is pooled: a source that fired, or a caller token that fires later, must never reach
/// the handshake that takes the deadline next, and a reused one must still time out.
/// </summary>
/// <remarks>Alone, so that no handshake of another test takes the instance between its return and the next start.</remarks>
[Collection(RunsAlone.Name)]
public class HandshakeDeadlineTests
{
    private static readonly TimeSpan Long = TimeSpan.FromHours(1);

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_deadline_whose_timeout_fired_comes_back_from_the_pool_uncancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        var fired = HandshakeDeadline.Start(TimeSpan.FromMilliseconds(1), TimeProvider.System, CancellationToken.None);
        await fired.Token.WhenCanceled().Guarded(ct);
        Assert.True(fired.TimedOut);
        fired.Return();

        var next = HandshakeDeadline.Start(Long, TimeProvider.System, CancellationToken.None);
        try
        {
            Assert.Same(fired, next);
            Assert.False(next.Token.IsCancellationRequested);
            Assert.False(next.TimedOut);
        }
        finally
        {
            next.Return();
        }
    }

    [Fact]
    public void The_caller_token_of_a_returned_deadline_no_longer_reaches_it()
    {
        using var caller = new CancellationTokenSource();
        var first = HandshakeDeadline.Start(Long, TimeProvider.System, caller.Token);
        first.Return();

        var next = HandshakeDeadline.Start(Long, TimeProvider.System, CancellationToken.None);
        try
        {
            Assert.Same(first, next);
            caller.Cancel();
            Assert.False(next.Token.IsCancellationRequested, "The previous handshake's caller cancelled the next handshake.");
        }
        finally
        {
            next.Return();
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_reused_deadline_times_out_again_and_says_so()
    {
        var ct = TestContext.Current.CancellationToken;
        var first = HandshakeDeadline.Start(Long, TimeProvider.System, CancellationToken.None);
        first.Return();

        var next = HandshakeDeadline.Start(TimeSpan.FromMilliseconds(50), TimeProvider.System, CancellationToken.None);
        try
        {
            Assert.Same(first, next);
            await next.Token.WhenCanceled().Guarded(ct);
            Assert.True(next.TimedOut);
        }
        finally
        {
            next.Return();
        }
    }

    [Fact]
    public void The_caller_cancelling_is_not_a_timeout_and_a_token_cancelled_before_the_start_cancels_at_once()
    {
        using var caller = new CancellationTokenSource();
        var deadline = HandshakeDeadline.Start(Long, TimeProvider.System, caller.Token);
        try
        {
            Assert.False(deadline.Token.IsCancellationRequested);
            caller.Cancel();
            Assert.True(deadline.Token.IsCancellationRequested);
            Assert.False(deadline.TimedOut);
        }
        finally
        {
            deadline.Return();
        }

        var late = HandshakeDeadline.Start(Long, TimeProvider.System, caller.Token);
        try
        {
            Assert.True(late.Token.IsCancellationRequested);
            Assert.False(late.TimedOut);
        }
        finally
        {
            late.Return();
        }
    }

    [Fact]
    public void On_another_clock_each_start_gets_a_timeout_of_its_own_that_runs_on_that_clock()
    {
        var time = new FakeTimeProvider();
        var first = HandshakeDeadline.Start(TimeSpan.FromSeconds(2), time, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(first.Token.IsCancellationRequested);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(first.Token.IsCancellationRequested);
        Assert.True(first.TimedOut);
        first.Return();

        var next = HandshakeDeadline.Start(TimeSpan.FromSeconds(2), time, CancellationToken.None);
        try
        {
            Assert.False(next.Token.IsCancellationRequested);
            Assert.False(next.TimedOut);
            time.Advance(TimeSpan.FromSeconds(2));
            Assert.True(next.TimedOut);
        }
        finally
        {
            next.Return();
        }
    }
}
