using System.CommandLine;
using System.Net.Sockets;
using Broker.Transport.Cli.CommandLine;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Broker.Transport.Cli.Serve;

/// <summary><c>serve</c>: the backend role. Its first line on stdout, once it accepts connections, is <c>listening on HOST:PORT</c>.</summary>
internal static class ServeCommand
{
    private static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromSeconds(10);

    public static Command Create()
    {
        var listen = CliOptions.Endpoint("--listen", "Where to listen, such as 127.0.0.1:5100 (port 0 picks a free port; the first line of output says which).");
        var encrypt = CliOptions.Encrypt();
        var config = CliOptions.Config();
        var certDir = CliOptions.CertDir("backend");
        var mode = CliOptions.Mode("echo sends back every byte received on the connection, raw (no framing), so any TLS client can use it; sink reads and counts, and answers with the count once the client has finished (8 bytes, big-endian).");
        var allowPeer = new Option<string[]>("--allow-peer")
        {
            Description = "Accept only clients whose certificate carries exactly this identity in its subject alternative names: a DNS name, an IP address (canonical: 127.0.0.1) or a URI; a wildcard name in a certificate never matches. Repeatable. Without it, any client certificate that chains to ca.crt with the client-authentication usage is accepted.",
            HelpName = "NAME",
        }.Identities();
        var handshakeTimeout = CliOptions.Duration("--handshake-timeout", "How long a client may take to set up its connection (the TLS handshake). Default 10s.");
        var grace = CliOptions.Duration("--grace-period", "On SIGINT or SIGTERM, how long open connections may go on before they are closed. Default 10s.");
        var poll = CliOptions.CertPollInterval();
        var trustBundle = CliOptions.TrustBundle();
        var rootHandover = CliOptions.RootHandover();
        var maxAge = CliOptions.Duration("--max-connection-age", "Ask each connection to drain once it is this old (plus or minus 10 %), and close it (gracefully) --drain-grace later. Off by default. Connections end before their certificates whatever this says.");
        var drainGrace = CliOptions.Duration("--drain-grace", "How long a connection asked to drain (its certificate about to expire, its client's root removed, --max-connection-age) gets before the transport closes it. Default 30s.", allowZero: true);

        var command = new Command("serve", "The backend role: listen, and echo or sink what each connection sends.")
        {
            listen, encrypt, config, certDir, mode, allowPeer, handshakeTimeout, grace, poll, trustBundle, rootHandover, maxAge, drainGrace,
        };
        command.SetAction((parse, _) => RunAsync(
            parse.GetRequiredValue(listen),
            parse.GetValue(encrypt),
            parse.GetValue(config),
            parse.GetValue(certDir),
            parse.GetValue(mode) == "echo",
            parse.GetValue(allowPeer) ?? [],
            parse.GetValue(handshakeTimeout),
            parse.GetValue(grace) ?? DefaultGracePeriod,
            parse.GetValue(poll),
            parse.GetValue(trustBundle),
            parse.GetValue(rootHandover),
            new Lifetime(parse.GetValue(maxAge), parse.GetValue(drainGrace))));
        return command;
    }

    private static async Task<int> RunAsync(
        HostPort listen, EncryptInternalTraffic? encrypt, string? config, string? certDir, bool echo, string[] allowPeers,
        TimeSpan? handshakeTimeout, TimeSpan grace, TimeSpan? pollInterval, string? trustBundle, TimeSpan? rootHandover, Lifetime lifetime)
    {
        using var signal = new ShutdownSignal();
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.UseUtcTimestamp = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
                console.ColorBehavior = LoggerColorBehavior.Default;
            })
            .SetMinimumLevel(LogLevel.Information)

            // The library's own lines: only its warnings (a refused Secret update); serve logs the rest itself, but
            // for the trust bundle's changes and a root handover's steps, which the library's lines say best.
            .AddFilter("Broker.Transport", LogLevel.Warning)
            .AddFilter("Broker.Transport.Certificates.Trust", LogLevel.Information));
        var log = loggerFactory.CreateLogger("serve");

        using var settings = TransportSettings.Resolve(encrypt, config, certDir, pollInterval, loggerFactory, "serve", trustBundle, rootHandover);
        var warnings = settings.Warnings.ToList();
        if (settings.Certificates is null && allowPeers.Length > 0)
        {
            warnings.Add("--allow-peer is not used: encryption is Disabled, so clients have no certificate.");
        }

        foreach (var warning in warnings)
        {
            await Console.Error.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
        }

        var options = new TransportListenerOptions
        {
            EncryptInternalTraffic = settings.Encrypt,
            Certificates = settings.Certificates,
        };
        if (handshakeTimeout is { } timeout)
        {
            options.HandshakeTimeout = timeout;
        }

        options.MaxConnectionAge = lifetime.MaxConnectionAge ?? options.MaxConnectionAge;
        options.DrainGrace = lifetime.DrainGrace ?? options.DrainGrace;

        foreach (var peer in allowPeers)
        {
            options.AllowedClientIdentities.Add(peer);
        }

        var endpoint = await listen.ResolveAsync(signal.Token).ConfigureAwait(false);
        TransportListener listener;
        try
        {
            listener = TransportListener.Bind(endpoint, options);
        }
        catch (SocketException ex)
        {
            throw new CommandFailedException($"Cannot listen on {listen}: {ex.Message}", ex);
        }

        await using (listener.ConfigureAwait(false))
        {
            // The contract's first line: scripts and tests wait for it before they connect.
            await Console.Out.WriteLineAsync($"listening on {HostPort.Format(listener.LocalEndPoint)}").ConfigureAwait(false);
            await Console.Out.FlushAsync().ConfigureAwait(false);

            listener.HandshakeFailed += (_, e) =>
                ServeLog.HandshakeRefused(log, e.RemoteEndPoint?.ToString() ?? "an unknown peer", e.Error.Reason, e.Error.Message);
            if (settings.Certificates is { } source)
            {
                // A new version with the same leaf is a trust bundle change, which the library's lines report.
                var presented = source.GetCurrent().Thumbprint;
                source.CredentialsChanged += (_, credentials) =>
                {
                    if (Interlocked.Exchange(ref presented, credentials.Thumbprint) != credentials.Thumbprint)
                    {
                        ServeLog.CertificateReloaded(log, source.Folder, Describe.Certificate(credentials.Certificate));
                    }
                };
            }

            var security = settings.Certificates is null
                ? "plaintext (encryption Disabled)"
                : "TLS 1.3, client certificate required" + (allowPeers.Length > 0 ? $", allowed peers {string.Join(", ", allowPeers)}" : ", any client of ca.crt");
            var certificate = settings.Certificates is null ? "none" : Describe.Certificate(settings.Certificates.GetCurrent().Certificate);
            ServeLog.Started(log, echo ? "echo" : "sink", security, certificate);

            await new Server(listener, log, echo).RunAsync(signal, grace).ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>The connections' lifetime flags: <c>--max-connection-age</c> and <c>--drain-grace</c>, null when not given.</summary>
    private readonly record struct Lifetime(TimeSpan? MaxConnectionAge, TimeSpan? DrainGrace);
}
