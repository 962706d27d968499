using System.Net;
using Broker.Transport;
using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Microsoft.Extensions.Logging;
using TwoTierBroker.Backend;
using TwoTierBroker.Frontend;

namespace TwoTierBroker.Cluster;

/// <summary>What <c>all</c> starts: how many pods, where the first frontend's MQTT port is, and the broker config.</summary>
public sealed class LocalClusterOptions
{
    /// <summary>The first frontend's MQTT endpoint; the next frontends take the ports after it (or free ones, when it is 0).</summary>
    public required IPEndPoint Mqtt { get; init; }

    /// <summary>How many frontends. Defaults to 2.</summary>
    public int Frontends { get; init; } = 2;

    /// <summary>How many backends (partitions). Defaults to 2.</summary>
    public int Backends { get; init; } = 2;

    /// <summary>The broker config: encryption, and the embedded issuer's <c>internalCerts</c>. Defaults to Enabled with cert-manager's defaults.</summary>
    public BrokerConfig Config { get; init; } = BrokerConfig.Default;

    /// <summary>How long a restarted backend holds publishes (<see cref="BackendNode.DefaultWarmUp"/>); keep it above the frontends' longest reconnect delay.</summary>
    public TimeSpan RestartWarmUp { get; init; } = BackendNode.DefaultWarmUp;

    /// <summary>Applied to every frontend's options (tests shorten timeouts with it).</summary>
    public Func<FrontendOptions, FrontendOptions>? ConfigureFrontend { get; init; }
}

/// <summary>
/// Every pod in one process on loopback: backends on free ports, frontends linked to all of them, and
/// (when Enabled) the embedded issuer as the certificate source of both sides, as on one machine.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;

    private LocalCluster(LocalClusterOptions options, InternalIssuer? issuer, ILoggerFactory loggerFactory)
    {
        Options = options;
        Issuer = issuer;
        _loggerFactory = loggerFactory;
    }

    /// <summary>The options it was started with.</summary>
    public LocalClusterOptions Options { get; }

    /// <summary>The embedded issuer; null when encryption is Disabled.</summary>
    public InternalIssuer? Issuer { get; }

    /// <summary>The backends, in partition order (a stopped one stays in its slot until it is restarted).</summary>
    public List<BackendNode> Backends { get; } = [];

    /// <summary>The frontends.</summary>
    public List<FrontendNode> Frontends { get; } = [];

    /// <summary>Starts the backends, then the frontends, and waits until every frontend is linked to every backend.</summary>
    public static async Task<LocalCluster> StartAsync(LocalClusterOptions options, ILoggerFactory loggerFactory, TimeSpan? linkTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Frontends, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Backends, 1);
        options.Config.EnsureSupported();
        var issuer = options.Config.EncryptInternalTraffic == Broker.Transport.Security.EncryptInternalTraffic.Enabled
            ? InternalIssuer.Start(new InternalIssuerOptions { Policy = options.Config.InternalCerts, Environment = new TransportEnvironment { LoggerFactory = loggerFactory } })
            : null;
        var cluster = new LocalCluster(options, issuer, loggerFactory);
        try
        {
            for (var i = 0; i < options.Backends; i++)
            {
                // No frontend exists yet, so none has filters to bring back: no warm-up.
                cluster.Backends.Add(cluster.StartBackend(i, new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.Zero));
            }

            var backends = cluster.Backends.Select(b => (EndPoint)b.EndPoint).ToArray();
            for (var i = 0; i < options.Frontends; i++)
            {
                var port = options.Mqtt.Port == 0 ? 0 : options.Mqtt.Port + i;
                var frontend = new FrontendOptions
                {
                    Mqtt = new IPEndPoint(options.Mqtt.Address, port),
                    Backends = backends,
                    Transport = cluster.ConnectorOptions(),
                    Name = $"frontend-{i}",
                };
                cluster.Frontends.Add(await FrontendNode.StartAsync(options.ConfigureFrontend?.Invoke(frontend) ?? frontend, loggerFactory).ConfigureAwait(false));
            }

            var timeout = linkTimeout ?? TimeSpan.FromSeconds(30);
            await Task.WhenAll(cluster.Frontends.Select(f => f.WaitForBackendsAsync(timeout))).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops backend <paramref name="index"/> (its frontends lose the link and start reconnecting).</summary>
    public async Task StopBackendAsync(int index) => await Backends[index].DisposeAsync().ConfigureAwait(false);

    /// <summary>Ends backend <paramref name="index"/> as a crash would (<see cref="BackendNode.AbortAsync"/>).</summary>
    public async Task KillBackendAsync(int index) => await Backends[index].AbortAsync().ConfigureAwait(false);

    /// <summary>Starts backend <paramref name="index"/> again on the port it had, empty, as a restarted pod.</summary>
    public void RestartBackend(int index) => Backends[index] = StartBackend(index, Backends[index].EndPoint, Options.RestartWarmUp);

    /// <summary>Stops the frontends, then the backends, then the issuer.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var frontend in Frontends)
        {
            await frontend.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var backend in Backends)
        {
            await backend.DisposeAsync().ConfigureAwait(false);
        }

        Issuer?.Dispose();
    }

    private BackendNode StartBackend(int index, IPEndPoint endpoint, TimeSpan warmUp)
    {
        var transport = new TransportListenerOptions { Certificates = Issuer?.Backend, Environment = new TransportEnvironment { LoggerFactory = _loggerFactory } };
        Options.Config.ApplyTo(transport);
        return BackendNode.Start(endpoint, transport, $"backend-{index}", _loggerFactory, warmUp);
    }

    private TransportConnectorOptions ConnectorOptions()
    {
        var transport = new TransportConnectorOptions { Certificates = Issuer?.Frontend, Environment = new TransportEnvironment { LoggerFactory = _loggerFactory } };
        Options.Config.ApplyTo(transport);
        return transport;
    }
}
