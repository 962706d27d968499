using Broker.Transport.Certificates;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Tests.Support;

/// <summary>Driving a Secret folder source's polls on a fake clock.</summary>
internal static class Polls
{
    /// <summary>
    /// Advances the clock, then waits, bounded by the hang guard, for the poll it fired to finish: a poll reads the
    /// folder on another thread, so it ends after the timer callback returns.
    /// </summary>
    public static async Task AdvanceAndPollAsync(this FakeTimeProvider time, SecretFolderCertificateSource source, TimeSpan by)
    {
        time.Advance(by);
        await source.Polling.WaitAsync(Guard.HangTimeout, TestContext.Current.CancellationToken);
    }
}
