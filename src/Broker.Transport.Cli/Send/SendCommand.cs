using System.CommandLine;
using System.Diagnostics;
using Broker.Transport.Cli.CommandLine;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.Send;

/// <summary><c>send</c>: the frontend role, a load generator. Exit code 0 only when everything was sent (and, with echo, came back intact).</summary>
internal static class SendCommand
{
    private const long DefaultMessages = 1000;
    private const int DefaultSize = 256;
    private const int MaxSize = 16 * 1024 * 1024;

    /// <summary>Messages in flight per connection with echo: at most this many, and at most 1 MiB of them.</summary>
    private const int MaxWindow = 64;

    public static Command Create()
    {
        var connect = CliOptions.Endpoint("--connect", "The backend to connect to, such as 127.0.0.1:5100.");
        var encrypt = CliOptions.Encrypt();
        var config = CliOptions.Config();
        var certDir = CliOptions.CertDir("frontend");
        var serverName = new Option<string?>("--server-name")
        {
            Description = "The name the server's certificate must carry (a DNS name, IP address in canonical form or URI in its subject alternative names). Default: the host of --connect.",
            HelpName = "NAME",
        }.Identities();
        var connections = CliOptions.AtLeast("--connections", 1, "How many connections to open and load at once. Default 1.");
        var size = CliOptions.AtLeast("--size", 1, $"Each message's size in bytes, at most {MaxSize}. Default {DefaultSize}.", "BYTES");
        size.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() > MaxSize)
            {
                result.AddError($"--size: at most {MaxSize} bytes (16 MiB).");
            }
        });
        var messages = new Option<long?>("--messages")
        {
            Description = $"How many messages to send in all, spread over the connections. Default {DefaultMessages} (unless --duration is given).",
            HelpName = "N",
        };
        messages.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long?>() < 1)
            {
                result.AddError("--messages: must be at least 1.");
            }
        });
        var duration = CliOptions.Duration("--duration", "Send for this long instead of a number of messages, such as 30s.");
        var mode = CliOptions.Mode("echo expects every byte back (the server runs --mode echo) and checks it; sink only sends, then checks the count of bytes the server says it received.");
        var poll = CliOptions.CertPollInterval();
        var trustBundle = CliOptions.TrustBundle();
        var rootHandover = CliOptions.RootHandover();

        var command = new Command("send", "The frontend role, a load generator: connect, send messages, show progress and a summary.")
        {
            connect, encrypt, config, certDir, serverName, connections, size, messages, duration, mode, poll, trustBundle, rootHandover,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(messages) is not null && result.GetResult(duration) is not null)
            {
                result.AddError("--messages and --duration cannot be used together: give a number of messages or a duration.");
            }
        });
        command.SetAction((parse, _) => RunAsync(new SendPlan(
            parse.GetRequiredValue(connect),
            parse.GetValue(encrypt),
            parse.GetValue(config),
            parse.GetValue(certDir),
            parse.GetValue(serverName),
            parse.GetValue(connections) ?? 1,
            parse.GetValue(size) ?? DefaultSize,
            parse.GetValue(duration) is null ? parse.GetValue(messages) ?? DefaultMessages : null,
            parse.GetValue(duration),
            parse.GetValue(mode) == "echo",
            parse.GetValue(poll),
            parse.GetValue(trustBundle),
            parse.GetValue(rootHandover))));
        return command;
    }

    private static async Task<int> RunAsync(SendPlan plan)
    {
        using var signal = new ShutdownSignal();
        using var settings = TransportSettings.Resolve(plan.Encrypt, plan.Config, plan.CertDir, plan.PollInterval, loggerFactory: null, "send", plan.TrustBundle, plan.RootHandover);
        foreach (var warning in settings.Warnings)
        {
            await Console.Error.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
        }

        if (settings.Certificates is { } source)
        {
            // stderr: stdout holds the connections and the summary, and a live progress display may own it. A new
            // version with the same leaf is a trust bundle change: said as such, with the roots trusted now.
            var presented = source.GetCurrent().Thumbprint;
            source.CredentialsChanged += (_, credentials) =>
            {
                if (Interlocked.Exchange(ref presented, credentials.Thumbprint) != credentials.Thumbprint)
                {
                    Console.Error.WriteLine($"certificate reloaded from {source.Folder}: {Describe.Certificate(credentials.Certificate)}");
                }
            };
            source.TrustBundleChanged += (_, _) =>
                Console.Error.WriteLine($"trust bundle changed: {Describe.Roots(source.GetTrustBundle())}");
        }

        var connector = new TransportConnector(new TransportConnectorOptions
        {
            EncryptInternalTraffic = settings.Encrypt,
            Certificates = settings.Certificates,
            ServerIdentity = plan.ServerName,
        });
        var loads = await ConnectAsync(connector, plan, signal.Token).ConfigureAwait(false);
        try
        {
            foreach (var security in loads.GroupBy(l => Describe.Security(l.Connection.Security, "server")))
            {
                await Console.Out.WriteLineAsync($"connected {security.Count()} connection(s) to {plan.Target}: {security.Key}").ConfigureAwait(false);
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(signal.Token);
            if (plan.Duration is { } limit)
            {
                stop.CancelAfter(limit);
            }

            var started = Stopwatch.GetTimestamp();
            var run = Task.WhenAll(loads.Select(l => l.RunAsync(Share(plan.Messages, loads.Count, l.Index), stop.Token)));
            await SendReport.ShowProgressAsync(run, loads, plan.Messages, plan.Duration, plan.Size).ConfigureAwait(false);
            await run.ConfigureAwait(false);
            SendReport.PrintSummary(loads, plan.Echo, plan.Size, Stopwatch.GetElapsedTime(started));

            var failed = loads.Where(l => l.Error is not null).ToList();
            foreach (var load in failed)
            {
                await Console.Error.WriteLineAsync($"error: connection {load.Index + 1} ({load.Connection.ConnectionId}): {load.Error}").ConfigureAwait(false);
            }

            // SIGINT or SIGTERM ends the load early, as the end of --duration would: what was sent was still
            // checked. With --messages the connections then fall short of their share, which is an error.
            if (signal.Received is { } received)
            {
                await Console.Error.WriteLineAsync($"stopped by {received} after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s.").ConfigureAwait(false);
            }

            return failed.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        }
        finally
        {
            foreach (var load in loads)
            {
                await load.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Opens every connection before the load starts, so that the rates measure sending, not handshakes.</summary>
    private static async Task<List<LoadConnection>> ConnectAsync(TransportConnector connector, SendPlan plan, CancellationToken cancellationToken)
    {
        var endpoint = plan.Target.ToEndPoint();
        var attempts = Enumerable.Range(0, plan.Connections).Select(_ => connector.ConnectAsync(endpoint, cancellationToken).AsTask()).ToList();
        try
        {
            await Task.WhenAll(attempts).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The first failure is the reason given; the connections that did open are closed.
        catch (Exception)
#pragma warning restore CA1031
        {
            foreach (var attempt in attempts.Where(a => a.IsCompletedSuccessfully))
            {
                await attempt.Result.DisposeAsync().ConfigureAwait(false);
            }

            var error = attempts.First(a => a.IsFaulted || a.IsCanceled);
            var reason = error.Exception?.InnerException?.Message ?? "cancelled.";
            throw new CommandFailedException($"Cannot connect to {plan.Target}: {reason}", error.Exception?.InnerException);
        }

        var window = (int)Math.Clamp(1024 * 1024 / plan.Size, 1, MaxWindow);
        return attempts.Select((a, i) => new LoadConnection(i, a.Result, new MessagePattern(plan.Size), plan.Echo, window)).ToList();
    }

    /// <summary>Connection <paramref name="index"/>'s share of <paramref name="total"/> messages; null (no limit) with a duration.</summary>
    private static long? Share(long? total, int connections, int index) =>
        total is { } messages ? (messages / connections) + (index < messages % connections ? 1 : 0) : null;

    private sealed record SendPlan(
        HostPort Target,
        EncryptInternalTraffic? Encrypt,
        string? Config,
        string? CertDir,
        string? ServerName,
        int Connections,
        int Size,
        long? Messages,
        TimeSpan? Duration,
        bool Echo,
        TimeSpan? PollInterval,
        string? TrustBundle,
        TimeSpan? RootHandover);
}
