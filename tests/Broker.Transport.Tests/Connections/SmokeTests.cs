using System.Text;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Connections;

public class SmokeTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frame_sent_by_the_client_arrives_whole_at_the_server()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = Loopback.Listen();
        var (client, server) = await Loopback.ConnectAsync(listener, cancellationToken: ct);
        await using var _ = client;
        await using var __ = server;

        await client.Output.WriteFrameAsync("plant-7/line-3/press-12/temperature"u8.ToArray(), ct);
        var reader = server.CreateFrameReader();
        Assert.True(await reader.ReadFrameAsync(ct));
        Assert.Equal("plant-7/line-3/press-12/temperature", Encoding.UTF8.GetString(reader.Current));
    }
}
