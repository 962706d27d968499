namespace Broker.Transport.Tests.Support;

/// <summary>
/// Tests that keep both cores busy (hundreds of connections, a quarter gibibyte each way) run alone, after
/// the others: next to them, the pumps of unrelated tests can wait seconds for a thread on a shared 2-core
/// machine, and only the hang guards stand between that and a false failure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "Heavy (runs alone)";
}
