namespace Broker.Transport.Tests.Support;

/// <summary>
/// The bound of a whole test (xunit v3's <c>Timeout</c>, for async tests): a test that uses the network or a
/// process fails after it instead of hanging the suite. A hang guard, never a performance bound; its waits have
/// shorter guards of their own (<see cref="Guard.HangTimeout"/>) that name what they waited for.
/// </summary>
internal static class TestTimeouts
{
    /// <summary>Five minutes: far beyond the slowest test on a loaded 2-core machine.</summary>
    public const int Hang = 300_000;
}
