using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>allocs connections [count] [warm-up] [plaintext|full|resumed...] [--types]</c>: the bytes one connection allocates on the side that
/// accepts it and on the side that connects it, plaintext and TLS (Ec256, full and resumed handshakes). Each
/// connection does what a short-lived one does: connect, handshake, the backend sends one byte and closes
/// gracefully (close_notify and FIN), the frontend reads until the end and disposes.
/// </summary>
/// <remarks>
/// <para>
/// How it measures. <c>GC.GetAllocatedBytesForCurrentThread</c> would miss everything a connection allocates on
/// the thread pool (the pumps, SslStream's continuations, the listener's setup task), which is most of it. So
/// the side being measured runs alone in a process of its own (<c>allocs-side</c>, started here), with the peer
/// in this process: <c>GC.GetTotalAllocatedBytes(precise: true)</c>, which adds up every thread's allocation
/// contexts, then counts only that side's work. It reads the counter after <c>warm-up</c> connections (JIT,
/// tiering, OpenSSL's contexts, the session cache, the pools' first blocks) and again after <c>count</c> more,
/// one at a time; the tail of the connection before the window (a pump finishing, the Closed token's callback)
/// falls inside it as the tail of the last one falls outside, so the delta over <c>count</c> is the steady cost
/// of one connection. What else the process does while it waits (timers, the runtime's own threads) is shared
/// out over <c>count</c> connections and is a few bytes each at the defaults.
/// </para>
/// <para>
/// A full handshake needs a name the client has no session ticket for, so the frontend makes a new
/// <see cref="TransportConnector"/> per connection (as <see cref="HandshakeBenchmarks"/> does); the child also
/// times <c>count</c> constructions of a connector alone, and the table shows the connected side's full handshake
/// with that cost taken out. With <c>--types</c>, the child also listens to the runtime's allocation ticks and
/// prints the types that allocated most (the listener's own events add well under 1% to the bytes).
/// </para>
/// </remarks>
internal static class ConnectionAllocationProbe
{
    /// <summary>The hidden command that runs one measured side in a process of its own.</summary>
    public const string SideCommand = "allocs-side";

    private static readonly string[] Modes = ["plaintext", "full", "resumed"];

    public static async Task<int> RunAsync(string[] args)
    {
        var types = args.Contains("--types");
        args = [.. args.Where(a => a != "--types")];
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        var warmup = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
        var modes = args.Length > 2 ? args[2..] : Modes;
        var pki = Directory.CreateTempSubdirectory("allocs-pki-").FullName;
        try
        {
            var (backend, frontend) = TlsLoopback.SharedKeyPki(PrivateKeyAlgorithm.Ec256);
            WriteFolder(Path.Combine(pki, "backend"), backend.GetCurrent());
            WriteFolder(Path.Combine(pki, "frontend"), frontend.GetCurrent());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count} connections per row after {warmup} to warm up, one at a time; load average {File.ReadAllText("/proc/loadavg").Trim()}"));
            foreach (var mode in modes)
            {
                foreach (var side in new[] { "accepted", "connected" })
                {
                    await MeasureAsync(side, mode, count, warmup, pki, types);
                }
            }
        }
        finally
        {
            Directory.Delete(pki, recursive: true);
        }

        return 0;
    }

    /// <summary>The measured side, in its own process: prints <c>ready [port]</c>, runs its connections, prints its result lines.</summary>
    public static async Task<int> SideAsync(string[] args)
    {
        var (side, mode, count, warmup, pki) = (args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), args[4]);
        using var ticks = args.Contains("--types") ? new AllocationProbe.AllocationTicks() : null;
        long bytes;
        var clock = new Stopwatch();
        if (side == "accepted")
        {
            await using var listener = Listen(mode, pki);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready {listener.LocalEndPoint.Port}"));
            bytes = await WindowAsync(count, warmup, clock, ticks, () => ServeOneAsync(listener));
        }
        else
        {
            Console.WriteLine("ready");
            var endpoint = new IPEndPoint(IPAddress.Loopback, int.Parse(args[5], CultureInfo.InvariantCulture));
            var frontend = mode == "plaintext" ? null : new StaticCertificateSource(PemCredentials.LoadFolder(Path.Combine(pki, "frontend")));
            var shared = Connector(mode, frontend);
            bytes = await WindowAsync(count, warmup, clock, ticks, () => ConnectOneAsync(mode == "full" ? Connector(mode, frontend) : shared, endpoint));
            if (mode == "full")
            {
                // What the full rows' extra connector per connection costs alone, to take it out.
                var before = GC.GetTotalAllocatedBytes(precise: true);
                for (var i = 0; i < count; i++)
                {
                    _ = Connector(mode, frontend);
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"connector {(GC.GetTotalAllocatedBytes(precise: true) - before) / (double)count:F0}"));
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"result {bytes / (double)count:F0} {clock.Elapsed.TotalMilliseconds / count:F3}"));
        foreach (var (type, sampled) in ticks?.Top(8) ?? [])
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"type ~{sampled / (double)count,8:F0} B  {type}"));
        }

        return 0;
    }

    private static async Task<long> WindowAsync(int count, int warmup, Stopwatch clock, AllocationProbe.AllocationTicks? ticks, Func<Task> one)
    {
        for (var i = 0; i < warmup; i++)
        {
            await one();
        }

        ticks?.Clear();
        clock.Start();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < count; i++)
        {
            await one();
        }

        var bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        clock.Stop();
        return bytes;
    }

    private static async Task MeasureAsync(string side, string mode, int count, int warmup, string pki, bool types)
    {
        var arguments = new List<string> { side, mode, count.ToString(CultureInfo.InvariantCulture), warmup.ToString(CultureInfo.InvariantCulture), pki };
        TransportListener? listener = null;
        Task? serving = null;
        using var stop = new CancellationTokenSource();
        if (side == "connected")
        {
            listener = Listen(mode, pki);
            arguments.Add(listener.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture));
            serving = ServeAsync(listener, stop.Token);
        }

        if (types)
        {
            arguments.Add("--types");
        }

        using var child = StartChild(arguments);
        var ready = await child.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"{side} {mode}: the child ended before it was ready: {await child.StandardError.ReadToEndAsync()}");
        if (side == "accepted")
        {
            var endpoint = new IPEndPoint(IPAddress.Loopback, int.Parse(ready.Split(' ')[1], CultureInfo.InvariantCulture));
            var frontend = mode == "plaintext" ? null : new StaticCertificateSource(PemCredentials.LoadFolder(Path.Combine(pki, "frontend")));
            var shared = Connector(mode, frontend);
            for (var i = 0; i < warmup + count; i++)
            {
                await ConnectOneAsync(mode == "full" ? Connector(mode, frontend) : shared, endpoint);
            }
        }

        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"{side} {mode}: the child failed ({child.ExitCode}): {await child.StandardError.ReadToEndAsync()}");
        }

        await stop.CancelAsync();
        if (listener is not null)
        {
            await listener.DisposeAsync();
            await serving!;
        }

        Print(side, mode, output);
    }

    private static void Print(string side, string mode, string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var result = lines.Single(l => l.StartsWith("result ", StringComparison.Ordinal)).Split(' ');
        var perConnection = double.Parse(result[1], CultureInfo.InvariantCulture);
        var connector = lines.FirstOrDefault(l => l.StartsWith("connector ", StringComparison.Ordinal)) is { } c ? double.Parse(c.Split(' ')[1], CultureInfo.InvariantCulture) : 0;
        var net = connector > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({perConnection - connector:F0} B without the new connector's {connector:F0} B)") : string.Empty;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{side,-9} {mode,-9} {perConnection,8:F0} B/connection{net}  {result[2]} ms/connection"));
        foreach (var line in lines.Where(l => l.StartsWith("type ", StringComparison.Ordinal)))
        {
            Console.WriteLine("    " + line[5..]);
        }
    }

    private static Process StartChild(List<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(ConnectionAllocationProbe).Assembly.Location);
        start.ArgumentList.Add(SideCommand);
        arguments.ForEach(start.ArgumentList.Add);
        return Process.Start(start) ?? throw new InvalidOperationException("The measured side did not start.");
    }

    private static TransportListener Listen(string mode, string pki) => mode == "plaintext"
        ? LoopbackPairs.ListenPlaintext()
        : TlsLoopback.Listen(new StaticCertificateSource(PemCredentials.LoadFolder(Path.Combine(pki, "backend"))));

    private static TransportConnector Connector(string mode, StaticCertificateSource? frontend) => mode switch
    {
        "plaintext" => LoopbackPairs.PlaintextConnector(),
        "full" => TlsLoopback.Connector(frontend!, TlsLoopback.FreshName()),
        _ => TlsLoopback.Connector(frontend!),
    };

    private static async Task ServeAsync(TransportListener listener, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await ServeOneAsync(listener);
            }
        }
        catch (InvalidOperationException) when (stop.IsCancellationRequested)
        {
            // The listener closed: the child has made all its connections.
        }
    }

    /// <summary>The backend's part: accept, send one byte, close gracefully.</summary>
    private static async Task ServeOneAsync(TransportListener listener)
    {
        var connection = await listener.AcceptAsync() ?? throw new InvalidOperationException("The listener closed.");
        await connection.Output.WriteAsync(new byte[] { 1 });
        await connection.DisposeAsync();
    }

    /// <summary>The frontend's part: connect, read until the backend's end (the TLS client takes its session tickets on the way), dispose.</summary>
    private static async Task ConnectOneAsync(TransportConnector connector, IPEndPoint endpoint)
    {
        var connection = await connector.ConnectAsync(endpoint);
        while (true)
        {
            var read = await connection.Input.ReadAsync();
            connection.Input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        await connection.DisposeAsync();
    }

    private static void WriteFolder(string folder, CertificateCredentials credentials)
    {
        Directory.CreateDirectory(folder);
        using var key = credentials.Certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The probe's leaves are Ec256.");
        File.WriteAllText(Path.Combine(folder, PemCredentials.CertificateFileName), credentials.Certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, PemCredentials.KeyFileName), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(folder, PemCredentials.TrustBundleFileName), string.Concat(credentials.TrustBundle.Select(r => r.ExportCertificatePem() + "\n")));
    }
}
