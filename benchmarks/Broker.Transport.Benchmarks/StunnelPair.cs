using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// What users pick instead of in-process TLS: a sidecar beside each end. Two stunnel processes on 127.0.0.1,
/// a client beside the frontend (plaintext in at <see cref="FrontendEndPoint"/>) and a server beside the
/// backend (TLS in at <see cref="TlsEndPoint"/>, plaintext out to the backend), speaking mutual TLS 1.3 to each
/// other on the leaves and root they are given: each verifies the other's chain against the root alone
/// (<c>verifyChain</c>), the server requires a client certificate, the client checks the backend's name.
/// Started in the foreground from config files in a temporary folder (which also holds the PEM files, keys
/// readable by their owner only), killed and deleted on dispose.
/// </summary>
internal sealed class StunnelPair : IAsyncDisposable
{
    /// <summary>What the report's rows say when no stunnel is on the PATH.</summary>
    public const string NotInstalled = "stunnel4 not installed";

    /// <summary>How long each process may take to say it accepts connections.</summary>
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(15);

    private readonly string _folder;
    private readonly List<Sidecar> _processes = [];

    private StunnelPair(string folder) => _folder = folder;

    /// <summary>Where the frontend connects, in plaintext: the stunnel client's accept port.</summary>
    public IPEndPoint FrontendEndPoint { get; private set; } = null!;

    /// <summary>Where the stunnel client connects with TLS: the stunnel server's accept port.</summary>
    public IPEndPoint TlsEndPoint { get; private set; } = null!;

    /// <summary>Both processes' log lines so far (stunnel's stderr in the foreground), for failure messages.</summary>
    public string Log => string.Join(Environment.NewLine, _processes.Select(p => $"--- stunnel {p.Role} ---{Environment.NewLine}{p.Log}"));

    /// <summary>The stunnel executable on the PATH (<c>stunnel</c>, as Debian's stunnel4 package installs it, or <c>stunnel4</c>), or null.</summary>
    public static string? FindExecutable()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in new[] { "stunnel", "stunnel4" })
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>"stunnel 5.68 (OpenSSL 3.0.19)": what <paramref name="executable"/> says it is, for the report's notes.</summary>
    public static string Describe(string executable)
    {
        var info = new ProcessStartInfo(executable, "-version") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{executable} did not start.");
        var text = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit(5000);
        var lines = text.Split('\n');
        var version = lines.FirstOrDefault(l => l.StartsWith("stunnel ", StringComparison.Ordinal))?.Split(' ').Take(2);
        var openssl = lines.FirstOrDefault(l => l.StartsWith("Running  with OpenSSL", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(2).Take(2);
        return (version is null ? "stunnel" : string.Join(' ', version)) + (openssl is null ? string.Empty : $" ({string.Join(' ', openssl)})");
    }

    /// <summary>
    /// Starts the server (presenting <paramref name="server"/>, forwarding to <paramref name="backend"/>) and the
    /// client (presenting <paramref name="client"/>, expecting the backend's leaf to name
    /// <paramref name="serverName"/>), each trusting its credentials' trust bundle alone, and waits until both
    /// accept. <paramref name="cipherSuites"/>: stunnel's <c>ciphersuites</c> on both (OpenSSL names, in order),
    /// or null for stunnel's default (<c>TLS_CHACHA20_POLY1305_SHA256</c> first).
    /// </summary>
    /// <exception cref="InvalidOperationException">A process ended or did not accept within its bound; the message holds its log.</exception>
    public static async Task<StunnelPair> StartAsync(string executable, CertificateCredentials server, CertificateCredentials client, IPEndPoint backend, string serverName, IReadOnlyList<string>? cipherSuites = null)
    {
        var pair = new StunnelPair(Directory.CreateTempSubdirectory("broker-sidecar-").FullName);
        try
        {
            var (serverCert, serverKey) = pair.WritePem("server", server);
            var (clientCert, clientKey) = pair.WritePem("client", client);
            var caFile = Path.Combine(pair._folder, "ca.crt");
            await File.WriteAllTextAsync(caFile, string.Concat(server.TrustBundle.Union(client.TrustBundle).Select(c => c.ExportCertificatePem() + "\n")));
            string[] common = ["sslVersionMin = TLSv1.3", $"CAfile = {caFile}", "socket = l:TCP_NODELAY=1", "socket = r:TCP_NODELAY=1"];
            if (cipherSuites is { Count: > 0 })
            {
                common = [.. common, $"ciphersuites = {string.Join(':', cipherSuites)}"];
            }

            // A port picked free can be taken before stunnel binds it: a few tries, each with new ports.
            for (var attempt = 1; ; attempt++)
            {
                pair.TlsEndPoint = FreePort();
                pair.FrontendEndPoint = FreePort();
                var serverProcess = await pair.StartOneAsync(executable, "server", [
                    "[backend-sidecar]", $"accept = {pair.TlsEndPoint}", $"connect = {backend}", $"cert = {serverCert}", $"key = {serverKey}", "verifyChain = yes", "requireCert = yes", .. common]);
                var clientProcess = serverProcess is null ? null : await pair.StartOneAsync(executable, "client", [
                    "[frontend-sidecar]", "client = yes", $"accept = {pair.FrontendEndPoint}", $"connect = {pair.TlsEndPoint}", $"cert = {clientCert}", $"key = {clientKey}", "verifyChain = yes", $"checkHost = {serverName}", .. common]);
                if (clientProcess is not null)
                {
                    return pair;
                }

                if (attempt == 3)
                {
                    throw new InvalidOperationException($"stunnel could not bind free ports on 127.0.0.1 in {attempt} tries.{Environment.NewLine}{pair.Log}");
                }

                await pair.StopProcessesAsync();
            }
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills both processes and deletes the folder with the keys.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopProcessesAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is harmless; failing a finished run over it is not.
        }
    }

    private static IPEndPoint FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)probe.LocalEndPoint!;
    }

    private async Task StopProcessesAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        _processes.Clear();
    }

    private (string Certificate, string Key) WritePem(string name, CertificateCredentials credentials)
    {
        // stunnel's cert file holds the chain from the leaf up; the key file the leaf's PKCS#8 key.
        var certificate = Path.Combine(_folder, name + ".crt");
        File.WriteAllText(certificate, string.Concat(new[] { credentials.Certificate }.Concat(credentials.Intermediates).Select(c => c.ExportCertificatePem() + "\n")));
        var key = Path.Combine(_folder, name + ".key");
        File.WriteAllText(key, KeyPem(credentials.Certificate));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return (certificate, key);
    }

    private static string KeyPem(X509Certificate2 certificate)
    {
        using var ec = certificate.GetECDsaPrivateKey();
        if (ec is not null)
        {
            return ec.ExportPkcs8PrivateKeyPem();
        }

        using var rsa = certificate.GetRSAPrivateKey() ?? throw new InvalidOperationException($"{certificate.Subject} has neither an EC nor an RSA private key.");
        return rsa.ExportPkcs8PrivateKeyPem();
    }

    /// <summary>Starts one process; null when it ended because its port was taken (the caller retries), throws on any other failure.</summary>
    private async Task<Sidecar?> StartOneAsync(string executable, string role, string[] service)
    {
        var config = Path.Combine(_folder, role + ".conf");
        string[] global = [$"; the sidecar pair's {role}, written by Broker.Transport.Benchmarks", "foreground = yes", "syslog = no", "pid =", "debug = info"];
        await File.WriteAllLinesAsync(config, [.. global, .. service]);
        var process = new Sidecar(role, executable, config);
        _processes.Add(process);
        var outcome = await process.Ready.WaitAsync(StartBound).ContinueWith(t => t, TaskScheduler.Default);
        if (outcome.IsCompletedSuccessfully)
        {
            return process;
        }

        if (process.Log.Contains("Address already in use", StringComparison.Ordinal))
        {
            return null;
        }

        var why = outcome.Exception?.InnerException is TimeoutException
            ? string.Create(CultureInfo.InvariantCulture, $"did not say it accepts connections within {StartBound.TotalSeconds:F0} s")
            : "ended before it accepted connections";
        throw new InvalidOperationException($"The sidecar pair's stunnel {role} ({executable} {config}) {why}.{Environment.NewLine}{Log}");
    }

    /// <summary>One stunnel process, its stderr kept (the last lines) and watched for the line it writes once bound.</summary>
    private sealed class Sidecar : IAsyncDisposable
    {
        private const int KeptLines = 200;
        private readonly Process _process;
        private readonly Queue<string> _log = new();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Sidecar(string role, string executable, string config)
        {
            Role = role;
            var info = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            info.ArgumentList.Add(config);
            _process = new Process { StartInfo = info };
            _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            _process.OutputDataReceived += (_, e) => OnLine(e.Data);
            _process.Start();
            _process.BeginErrorReadLine();
            _process.BeginOutputReadLine();
        }

        public string Role { get; }

        /// <summary>Completes once stunnel logged "Accepting new connections" (after binding every service); fails if it ends first.</summary>
        public Task Ready => _ready.Task;

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return string.Join(Environment.NewLine, _log);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It had already ended.
            }

            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(bound.Token);
            _process.Dispose();
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                _ready.TrySetException(new InvalidOperationException($"stunnel {Role} ended."));
                return;
            }

            lock (_log)
            {
                _log.Enqueue(line);
                if (_log.Count > KeptLines)
                {
                    _log.Dequeue();
                }
            }

            if (line.Contains("Accepting new connections", StringComparison.Ordinal))
            {
                _ready.TrySetResult();
            }
        }
    }
}
