using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Logging;
using TwoTierBroker.Backend;
using TwoTierBroker.Cluster;
using TwoTierBroker.Frontend;

// The commands run on a console application's thread pool, which has no synchronization context to capture.
#pragma warning disable CA2007

namespace TwoTierBroker.CommandLine;

/// <summary>
/// <c>backend</c>, <c>frontend</c> and <c>all</c>. Each prints its endpoints on stdout first (<c>listening on
/// HOST:PORT</c> for a backend, <c>mqtt listening on HOST:PORT</c> for a frontend), logs to stderr, and runs
/// until SIGINT or SIGTERM (System.CommandLine's cancellation), then closes its ports and links.
/// </summary>
internal static class Commands
{
    public static Command Backend()
    {
        var listen = Endpoints.Listen("--listen", "Where frontends connect, such as 127.0.0.1:5100 (port 0 picks one; the first line says which).");
        var (certDir, config, poll) = (CertDir("backend"), Config(), PollInterval());
        var name = Name("backend");
        var command = new Command("backend", "A backend pod: one partition of the topic space, reached by the frontends over the transport.") { listen, certDir, config, poll, name };
        command.SetAction(async (parse, stopping) =>
        {
            using var logs = Logs.Create();
            using var settings = Settings(parse.GetValue(config), parse.GetValue(certDir), parse.GetValue(poll), logs, "backend");
            await using var backend = BackendNode.Start(parse.GetRequiredValue(listen), settings.ListenerOptions(), parse.GetValue(name)!, logs);
            await Announce($"listening on {Endpoints.Format(backend.EndPoint)}");
            return await RunUntilStoppedAsync(stopping);
        });
        return command;
    }

    public static Command Frontend()
    {
        var mqtt = Endpoints.Listen("--mqtt", "Where MQTT clients connect, such as 127.0.0.1:1883 (port 0 picks one; the first line says which).");
        var backends = Endpoints.Backends();
        var (certDir, config, poll) = (CertDir("frontend"), Config(), PollInterval());
        var name = Name("frontend");
        var serverName = new Option<string?>("--server-name")
        {
            Description = "The name every backend's certificate must carry. Default: the host of each --backends entry.",
            HelpName = "NAME",
        };
        var command = new Command("frontend", "A frontend pod: an MQTT server whose clients' traffic goes to the backends over the transport.")
        {
            mqtt, backends, certDir, config, poll, name, serverName,
        };
        command.SetAction(async (parse, stopping) =>
        {
            using var logs = Logs.Create();
            using var settings = Settings(parse.GetValue(config), parse.GetValue(certDir), parse.GetValue(poll), logs, "frontend");
            await using var frontend = await FrontendNode.StartAsync(
                new FrontendOptions
                {
                    Mqtt = parse.GetRequiredValue(mqtt),
                    Backends = parse.GetRequiredValue(backends),
                    Transport = settings.ConnectorOptions(parse.GetValue(serverName)),
                    Name = parse.GetValue(name)!,
                },
                logs);
            await Announce($"mqtt listening on {Endpoints.Format(frontend.MqttEndPoint)}");
            return await RunUntilStoppedAsync(stopping);
        });
        return command;
    }

    public static Command All()
    {
        var mqtt = Endpoints.Listen("--mqtt", "The first frontend's MQTT endpoint, such as 127.0.0.1:1883; the next frontends take the next ports (port 0: free ones).");
        var frontends = Count("--frontends", "How many frontends. Default 2.");
        var backends = Count("--backends", "How many backends (partitions). Default 2.");
        var config = Config();
        var command = new Command("all", "Every pod in one process on loopback, certificates from the embedded issuer (the default on one machine).")
        {
            mqtt, frontends, backends, config,
        };
        command.SetAction(async (parse, stopping) =>
        {
            using var logs = Logs.Create();
            var broker = NodeSettings.LoadConfig(parse.GetValue(config), out var warnings);
            Warn(warnings);
            await using var cluster = await LocalCluster.StartAsync(
                new LocalClusterOptions { Mqtt = parse.GetRequiredValue(mqtt), Frontends = parse.GetValue(frontends), Backends = parse.GetValue(backends), Config = broker },
                logs);
            foreach (var backend in cluster.Backends)
            {
                await Announce($"listening on {Endpoints.Format(backend.EndPoint)}");
            }

            foreach (var frontend in cluster.Frontends)
            {
                await Announce($"mqtt listening on {Endpoints.Format(frontend.MqttEndPoint)}");
            }

            return await RunUntilStoppedAsync(stopping);
        });
        return command;
    }

    private static NodeSettings Settings(string? config, string? certDir, TimeSpan? poll, ILoggerFactory logs, string role)
    {
        var settings = NodeSettings.Resolve(config, certDir, poll, logs, role);
        Warn(settings.Warnings);
        return settings;
    }

    private static void Warn(IEnumerable<string> warnings)
    {
        foreach (var warning in warnings)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }
    }

    /// <summary>The contract's lines, on stdout, flushed at once: scripts and tests wait for them.</summary>
    private static async Task Announce(string line)
    {
        await Console.Out.WriteLineAsync(line);
        await Console.Out.FlushAsync();
    }

    private static async Task<int> RunUntilStoppedAsync(CancellationToken stopping)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    private static Option<string?> CertDir(string role) => new("--cert-dir")
    {
        Description = $"The {role}'s certificates: a folder in Kubernetes TLS Secret layout (tls.crt, tls.key, ca.crt), reloaded as it changes. Required when encryption is Enabled.",
        HelpName = "DIR",
    };

    private static Option<TimeSpan?> PollInterval() => new("--cert-poll-interval")
    {
        Description = "How often --cert-dir is read for a new set of certificates, as a config file duration (10s, 1m). Default 10s.",
        HelpName = "DURATION",
        CustomParser = result =>
        {
            try
            {
                var value = Broker.Transport.Configuration.GoDuration.Parse(result.Tokens[0].Value);
                if (value > TimeSpan.Zero)
                {
                    return value;
                }
            }
            catch (FormatException)
            {
            }

            result.AddError($"--cert-poll-interval: '{result.Tokens[0].Value}' is not a positive duration such as 500ms, 10s or 1m.");
            return null;
        },
    };

    private static Option<string?> Config() => new("--config")
    {
        Description = "The broker config file (the JSON given to az iot ops create --broker-config-file): advanced.encryptInternalTraffic, and for 'all' advanced.internalCerts.",
        HelpName = "FILE",
    };

    private static Option<string> Name(string role) => new("--name")
    {
        Description = $"This {role}'s name, in the logs of both sides. Default: {role}-<machine name>.",
        HelpName = "NAME",
        DefaultValueFactory = _ => $"{role}-{Dns.GetHostName()}",
    };

    private static Option<int> Count(string name, string description)
    {
        var option = new Option<int>(name) { Description = description, HelpName = "N", DefaultValueFactory = _ => 2 };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 64)
            {
                result.AddError($"{name}: give a number from 1 to 64.");
            }
        });
        return option;
    }
}
