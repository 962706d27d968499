using System.Diagnostics;
using System.Globalization;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>handshakes [count] [algorithm...]</c>: does .NET resume TLS sessions between this transport's
/// connections, and what does a handshake cost with keys too slow to make for BenchmarkDotNet (Rsa8192)?
/// For each algorithm (default Ec256 and Rsa2048), each way of naming the backend (always <c>localhost</c>,
/// or a name never used before, as the full-handshake benchmarks do) and each teardown (a graceful close
/// after a frame each way, or the benchmarks' abort), it connects three times through a
/// <see cref="HelloRelay"/> that reads the hellos on the wire, then times <c>count</c> (default 50) direct connects.
/// <c>handshakes concurrent ...</c> measures handshakes per second with many frontends at once instead
/// (see <see cref="HandshakeConcurrencyProbe"/>).
/// </summary>
/// <remarks>
/// One key per algorithm serves the root and both leaves (<see cref="TlsLoopback.SharedKeyPki"/>), so
/// Rsa8192 costs one key generation (about 30 s here) instead of three.
/// </remarks>
internal static class HandshakeProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "concurrent")
        {
            return await HandshakeConcurrencyProbe.RunAsync(args[1..]);
        }

        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
        var algorithms = args.Length > 1
            ? args[1..].Select(Enum.Parse<PrivateKeyAlgorithm>).ToArray()
            : [PrivateKeyAlgorithm.Ec256, PrivateKeyAlgorithm.Rsa2048];
        foreach (var algorithm in algorithms)
        {
            var clock = Stopwatch.StartNew();
            var (backend, frontend) = TlsLoopback.SharedKeyPki(algorithm);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{algorithm}: key and certificates made in {clock.Elapsed.TotalSeconds:F1} s"));
            foreach (var (fresh, abort) in new[] { (false, false), (false, true), (true, false), (true, true) })
            {
                await ProbeAsync(backend, frontend, fresh, abort, count);
            }
        }

        return 0;
    }

    private static async Task ProbeAsync(StaticCertificateSource backend, StaticCertificateSource frontend, bool fresh, bool abort, int count)
    {
        await using var listener = TlsLoopback.Listen(backend);
        var same = TlsLoopback.Connector(frontend);
        var mode = (fresh ? "new name" : TlsLoopback.ServerIdentity) + (abort ? ", aborted" : ", closed");
        TransportConnector Connector() => fresh ? TlsLoopback.Connector(frontend, TlsLoopback.FreshName()) : same;

        // On the wire: the first handshake, then two more.
        using (var relay = new HelloRelay(listener.LocalEndPoint))
        {
            for (var i = 0; i < 3; i++)
            {
                var suite = await ConnectAsync(Connector(), listener, relay.LocalEndPoint, abort);
                var seen = await relay.NextAsync();
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"  {mode,-20} #{i + 1}: ticket offered {seen.Offered,-5} resumed {seen.Resumed,-5} client sent {seen.ClientBytes,5} B, server {seen.ServerBytes,5} B  {suite}"));
            }
        }

        // Timed, without the relay.
        var times = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            await ConnectAsync(Connector(), listener, listener.LocalEndPoint, abort);
            times.Add(clock.Elapsed.TotalMicroseconds);
        }

        times.Sort();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  {mode,-20} {count} timed connects: median {times[count / 2] / 1000,6:F2} ms (min {times[0] / 1000:F2}, max {times[^1] / 1000:F2})"));
    }

    /// <summary>
    /// Connects and accepts; then either aborts both ends at once (as the benchmarks do), or sends one frame
    /// each way (so the client has read the server's session tickets) and closes both ends gracefully.
    /// </summary>
    /// <returns>The negotiated cipher suite.</returns>
    private static async Task<string> ConnectAsync(TransportConnector connector, TransportListener listener, System.Net.IPEndPoint endpoint, bool abort)
    {
        await using var client = await connector.ConnectAsync(endpoint);
        await using var server = await listener.AcceptAsync() ?? throw new InvalidOperationException("The listener closed.");
        if (abort)
        {
            client.Abort("probe teardown");
            server.Abort("probe teardown");
        }
        else
        {
            await server.Output.WriteFrameAsync(new byte[] { 1 });
            _ = await client.CreateFrameReader().ReadFrameAsync();
            await client.Output.WriteFrameAsync(new byte[] { 2 });
            _ = await server.CreateFrameReader().ReadFrameAsync();
        }

        return client.Security.CipherSuite?.ToString() ?? "?";
    }
}
