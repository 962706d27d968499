using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>handshakes concurrent [frontends] [rounds] [seconds]</c>: handshakes per second when <c>frontends</c>
/// (default 16) connect to one backend at once, each again as soon as its last connection is done, next to one
/// frontend alone; full and resumed Ec256 mutual TLS 1.3 handshakes, through this transport's connector and
/// listener and through a raw <see cref="SslStream"/> pair on the same certificates with the same mutual
/// authentication, all in the same run. Each round (default 5) measures every path for <c>seconds</c> (default
/// 2), the two paths of each cell back to back (which goes first alternates), starting from a different cell each
/// round; the table gives the median rates, the per-round rates and ratios, and the CPU time per handshake.
/// </summary>
/// <remarks>
/// <para>
/// One connection: connect, both handshakes, the backend aborts (a reset, so no port waits in TIME_WAIT), the
/// frontend reads until it sees the end, then disposes. The frontend's read is what tells it the backend's side
/// finished too; a rate counts the frontends' completed connections.
/// </para>
/// <para>
/// The raw pair is what a careful developer writes: a listening socket with an accept loop that handshakes every
/// socket on its own task, the server's and the client's <see cref="SslStreamCertificateContext"/> made once (as
/// this transport makes one per certificate version), <c>ClientCertificateRequired</c>, TLS 1.3, and each side
/// trusting the root alone (<see cref="X509ChainTrustMode.CustomRootTrust"/>, no revocation check). A full
/// handshake names the backend <c>c&lt;n&gt;.backend.test</c> (a name never used before, so the client holds no
/// ticket for it), a resumed one always <c>localhost</c> (see <see cref="TlsLoopback.WildcardIdentity"/>); this
/// transport's full handshakes therefore take a new <see cref="TransportConnector"/> per connection, as
/// <see cref="HandshakeBenchmarks"/> do.
/// </para>
/// </remarks>
internal static class HandshakeConcurrencyProbe
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromMilliseconds(300);

    public static async Task<int> RunAsync(string[] args)
    {
        var frontends = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 16;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        var (backend, frontend) = TlsLoopback.SharedKeyPki(PrivateKeyAlgorithm.Ec256);
        await using var listener = TlsLoopback.Listen(backend);
        await using var raw = RawBackend.Start(backend.GetCurrent());
        var rawClient = RawClient.Create(frontend.GetCurrent());
        var shared = TlsLoopback.Connector(frontend);
        Func<Task> Path(bool transport, bool full) => transport
            ? () => TransportOnceAsync(full ? TlsLoopback.Connector(frontend, TlsLoopback.FreshName()) : shared, listener)
            : () => rawClient.OnceAsync(raw.LocalEndPoint, full ? TlsLoopback.FreshName() : TlsLoopback.ServerIdentity);
        var cells = new[] { ("full", 1), ("full", frontends), ("resumed", 1), ("resumed", frontends) };

        await using var drain = TransportDrain.Start(listener);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Ec256, {rounds} rounds of {seconds:0.#} s per path; load average at start {File.ReadAllText("/proc/loadavg").Trim()}"));
        var samples = cells.ToDictionary(c => c, _ => (Ours: new List<Sample>(), Theirs: new List<Sample>()));
        var failures = 0L;
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < cells.Length; k++)
            {
                // The two paths of a cell back to back, in turns first, so each round's ratio compares neighbours.
                var cell = cells[(k + round) % cells.Length];
                var full = cell.Item1 == "full";
                foreach (var transport in round % 2 == 0 ? new[] { true, false } : [false, true])
                {
                    var sample = await RateAsync(Path(transport, full), cell.Item2, TimeSpan.FromSeconds(seconds));
                    failures += sample.Failed;
                    (transport ? samples[cell].Ours : samples[cell].Theirs).Add(sample);
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load average at end {File.ReadAllText("/proc/loadavg").Trim()}; failed connects {failures}; backend refusals: transport {listener.HandshakesFailed}, SslStream {raw.Failed}"));
        Console.WriteLine("| handshake | frontends | transport /s | SslStream /s | transport / SslStream, per round (median) | CPU ms per handshake, transport / SslStream (both ends, medians) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | --- | --- |");
        foreach (var cell in cells)
        {
            var (ours, theirs) = samples[cell];
            var ratios = ours.Zip(theirs, (a, b) => a.Rate / b.Rate).ToList();
            static string List(IEnumerable<double> values, string format) => string.Join(", ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)));
            var (ourCpu, theirCpu) = (Median([.. ours.Select(o => o.CpuMs)]), Median([.. theirs.Select(t => t.CpuMs)]));
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {cell.Item1} | {cell.Item2} | {Median([.. ours.Select(o => o.Rate)]):F0} ({List(ours.Select(o => o.Rate), "F0")}) | {Median([.. theirs.Select(t => t.Rate)]):F0} ({List(theirs.Select(t => t.Rate), "F0")}) | {List(ratios, "F2")} ({Median(ratios):F2}) | {ourCpu:F2} / {theirCpu:F2} ({ourCpu / theirCpu:F2}) |"));
        }

        return failures == 0 ? 0 : 1;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// <paramref name="frontends"/> loops connecting back to back: the completed connections per second after a
    /// warm-up, and the process's CPU time per connection (both ends are in this process; steadier than the rate
    /// on a shared machine).
    /// </summary>
    private static async Task<Sample> RateAsync(Func<Task> connect, int frontends, TimeSpan window)
    {
        long completed = 0;
        long failed = 0;
        using var stop = new CancellationTokenSource();
        var loops = Enumerable.Range(0, frontends).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await connect();
                    Interlocked.Increment(ref completed);
                }
#pragma warning disable CA1031 // Counted and reported: the run fails (exit code 1) if any connect failed.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    if (Interlocked.Increment(ref failed) <= 3)
                    {
                        Console.Error.WriteLine($"connect failed: {ex.GetType().Name}: {ex.Message}");
                    }
                }
            }
        })).ToList();
        await Task.Delay(WarmUp);
        var start = Interlocked.Read(ref completed);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.Delay(window);
        var done = Interlocked.Read(ref completed) - start;
        var elapsed = clock.Elapsed.TotalSeconds;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        return new Sample(done / elapsed, cpuMs / Math.Max(done, 1), failed);
    }

    private readonly record struct Sample(double Rate, double CpuMs, long Failed);

    private static async Task TransportOnceAsync(TransportConnector connector, TransportListener listener)
    {
        await using var connection = await connector.ConnectAsync(listener.LocalEndPoint);
        try
        {
            while (true)
            {
                var read = await connection.Input.ReadAsync();
                connection.Input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (TransportException)
        {
            // The backend's reset: it had the connection, so both handshakes are done.
        }
    }

    /// <summary>Takes the listener's connections and resets each at once.</summary>
    private sealed class TransportDrain : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _loops = [];

        public static TransportDrain Start(TransportListener listener)
        {
            var drain = new TransportDrain();
            for (var i = 0; i < 2; i++)
            {
                drain._loops.Add(Task.Run(() => drain.RunAsync(listener)));
            }

            return drain;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await Task.WhenAll(_loops);
            }
            catch (OperationCanceledException)
            {
            }

            _stop.Dispose();
        }

        private async Task RunAsync(TransportListener listener)
        {
            while (await listener.AcceptAsync(_stop.Token) is { } connection)
            {
                connection.Abort("probe: the backend resets");
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>The raw backend: an accept loop, a task per socket, an SslStream handshake, then a reset.</summary>
    private sealed class RawBackend : IAsyncDisposable
    {
        private readonly Socket _listen = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly SslServerAuthenticationOptions _options;
        private readonly Task _accepting;
        private long _failed;

        private RawBackend(CertificateCredentials credentials)
        {
            _options = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(credentials.Certificate, null, offline: true),
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = RawClient.TrustOnly(credentials.TrustBundle),
            };
            _listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listen.Listen(512);
            LocalEndPoint = (IPEndPoint)_listen.LocalEndPoint!;
            _accepting = AcceptLoopAsync();
        }

        public IPEndPoint LocalEndPoint { get; }

        public long Failed => Interlocked.Read(ref _failed);

        public static RawBackend Start(CertificateCredentials credentials) => new(credentials);

        public async ValueTask DisposeAsync()
        {
            _listen.Dispose();
            await _accepting;
        }

        private async Task AcceptLoopAsync()
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listen.AcceptAsync();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => HandshakeAsync(socket));
            }
        }

        private async Task HandshakeAsync(Socket socket)
        {
            socket.NoDelay = true;
            var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
            try
            {
                await ssl.AuthenticateAsServerAsync(_options);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                Interlocked.Increment(ref _failed);
            }

            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
                // The frontend reset it first.
            }

            await ssl.DisposeAsync();
        }
    }

    /// <summary>The raw frontend: a socket, an SslStream handshake on a client context made once, a read until the backend's reset.</summary>
    private sealed class RawClient
    {
        private readonly SslStreamCertificateContext _context;
        private readonly X509ChainPolicy _trust;

        private RawClient(CertificateCredentials credentials)
        {
            _context = SslStreamCertificateContext.Create(credentials.Certificate, null, offline: true);
            _trust = TrustOnly(credentials.TrustBundle);
        }

        public static RawClient Create(CertificateCredentials credentials) => new(credentials);

        public static X509ChainPolicy TrustOnly(X509Certificate2Collection roots)
        {
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.AddRange(roots);
            return policy;
        }

        public async Task OnceAsync(IPEndPoint backend, string targetHost)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(backend);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = targetHost,
                ClientCertificateContext = _context,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = _trust,
            });
            try
            {
                var buffer = new byte[1];
                while (await ssl.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (IOException)
            {
                // The backend's reset: it had the connection, so both handshakes are done.
            }
        }
    }
}
