using System.Net;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TwoTierBroker.Cluster;
using TwoTierBroker.Frontend;

namespace TwoTierBroker.Tests.Support;

/// <summary>The <c>all</c> command's cluster in process, with its logs kept for the assertions.</summary>
internal static class Clusters
{
    public static readonly TimeSpan LinkTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Short reconnect delays and timeouts, so a restart test takes seconds.</summary>
    public static FrontendOptions Fast(FrontendOptions options) => new()
    {
        Mqtt = options.Mqtt,
        Backends = options.Backends,
        Transport = options.Transport,
        Name = options.Name,
        PublishTimeout = TimeSpan.FromSeconds(30),
        Reconnect = new ConnectionKeeperOptions { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(500) },
    };

    public static async Task<(LocalCluster Cluster, FakeLogCollector Logs)> StartAsync(EncryptInternalTraffic mode, int frontends = 2, int backends = 2)
    {
        var (factory, logs) = Logging();
        var cluster = await LocalCluster.StartAsync(
            new LocalClusterOptions
            {
                Mqtt = new IPEndPoint(IPAddress.Loopback, 0),
                Frontends = frontends,
                Backends = backends,
                Config = new BrokerConfig(mode),
                ConfigureFrontend = Fast,
                RestartWarmUp = TimeSpan.FromSeconds(1.5),
            },
            factory,
            LinkTimeout);
        return (cluster, logs);
    }

    public static (ILoggerFactory Factory, FakeLogCollector Logs) Logging()
    {
        var provider = new FakeLoggerProvider();
        var factory = LoggerFactory.Create(logging => logging.AddProvider(provider).SetMinimumLevel(LogLevel.Information));
        return (factory, provider.Collector);
    }

    /// <summary>Every log line so far, for assertions and failure messages.</summary>
    public static string Text(FakeLogCollector logs) => string.Join('\n', logs.GetSnapshot().Select(r => $"{r.Level} {r.Category}: {r.Message}{(r.Exception is null ? string.Empty : " " + r.Exception.Message)}"));
}
