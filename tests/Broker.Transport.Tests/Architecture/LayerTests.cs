using Broker.Transport.Connections;

namespace Broker.Transport.Tests.Architecture;

public sealed class LayerTests
{
    [Fact]
    public void Print()
    {
        var graph = FolderGraph.Read(typeof(TransportListener).Assembly);
        var lines = graph.SelectMany(kv => kv.Value.Select(t => $"{kv.Key} -> {t.Key}   ({t.Value})"));
        Assert.Fail(string.Join("\n", lines));
    }
}
