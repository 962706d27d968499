using System.Diagnostics;
using System.Globalization;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>handshakes [count] [algorithm...]</c>: does .NET resume TLS sessions between this transport's
/// connections, and what does a handshake cost with keys too slow to make for BenchmarkDotNet (Rsa8192)?
/// For each algorithm (default Ec256 and Rsa2048) and each way of naming the backend (always <c>localhost</c>,
/// or a name never used before, as the full-handshake benchmarks do), it connects through a
/// <see cref="HelloRelay"/> that reads the hellos on the wire, then times <c>count</c> (default 50) direct
/// connects, each with one frame each way.
/// </summary>
/// <remarks>
/// One key per algorithm serves the root and both leaves, so Rsa8192 costs one key generation (about
/// 30 s here) instead of three; a handshake signs and verifies exactly as with three keys.
/// </remarks>
internal static class HandshakeProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
        var algorithms = args.Length > 1
            ? args[1..].Select(Enum.Parse<PrivateKeyAlgorithm>).ToArray()
            : [PrivateKeyAlgorithm.Ec256, PrivateKeyAlgorithm.Rsa2048];
        foreach (var algorithm in algorithms)
        {
            var clock = Stopwatch.StartNew();
            var (backend, frontend) = SharedKeyPki(algorithm);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{algorithm}: key and certificates made in {clock.Elapsed.TotalSeconds:F1} s"));
            foreach (var fresh in new[] { false, true })
            {
                await ProbeAsync(backend, frontend, fresh, count);
            }
        }

        return 0;
    }

    private static async Task ProbeAsync(StaticCertificateSource backend, StaticCertificateSource frontend, bool fresh, int count)
    {
        await using var listener = TlsLoopback.Listen(backend);
        var same = TlsLoopback.Connector(frontend);
        var identity = fresh ? "fresh" : TlsLoopback.ServerIdentity;
        TransportConnector Connector() => fresh ? TlsLoopback.Connector(frontend, TlsLoopback.FreshName()) : same;

        // On the wire: the first handshake, then two more.
        using (var relay = new HelloRelay(listener.LocalEndPoint))
        {
            for (var i = 0; i < 3; i++)
            {
                await ConnectAsync(Connector(), listener, relay.LocalEndPoint);
                var seen = await relay.NextAsync();
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"  {identity,-9} #{i + 1}: ticket offered {seen.Offered,-5}  resumed {seen.Resumed,-5}  client sent {seen.ClientBytes,5} B, server sent {seen.ServerBytes,5} B (with a 1-byte frame each way)"));
            }
        }

        // Timed, without the relay: connect, handshake and one frame each way.
        var times = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            await ConnectAsync(Connector(), listener, listener.LocalEndPoint);
            times.Add(clock.Elapsed.TotalMicroseconds);
        }

        times.Sort();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  {identity,-9} {count} timed connects: median {times[count / 2] / 1000,6:F2} ms (min {times[0] / 1000:F2}, max {times[^1] / 1000:F2})"));
    }

    /// <summary>Connects, sends one frame each way (so the client has read the server's session tickets), and closes both ends.</summary>
    private static async Task ConnectAsync(TransportConnector connector, TransportListener listener, System.Net.IPEndPoint endpoint)
    {
        await using var client = await connector.ConnectAsync(endpoint);
        await using var server = await listener.AcceptAsync() ?? throw new InvalidOperationException("The listener closed.");
        await server.Output.WriteFrameAsync(new byte[] { 1 });
        var frames = client.CreateFrameReader();
        _ = await frames.ReadFrameAsync();
        await client.Output.WriteFrameAsync(new byte[] { 2 });
        _ = await server.CreateFrameReader().ReadFrameAsync();
    }

    /// <summary>One key of <paramref name="algorithm"/> for a root and both leaves (localhost and the wildcard; frontend).</summary>
    private static (StaticCertificateSource Backend, StaticCertificateSource Frontend) SharedKeyPki(PrivateKeyAlgorithm algorithm)
    {
        using var key = CertificateIssuance.CreateKey(algorithm);
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var root = CertificateIssuance.CreateRoot("Broker.Transport Benchmark CA", key, now, now.AddDays(2));
        var bundle = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection(root);
        var backend = CertificateIssuance.IssueLeaf(root, key, new LeafSpec("backend", now, now.AddDays(1))
        {
            DnsNames = [TlsLoopback.ServerIdentity, TlsLoopback.WildcardIdentity],
            IPAddresses = [System.Net.IPAddress.Loopback],
            ClientAuthentication = false,
        });
        var frontend = CertificateIssuance.IssueLeaf(root, key, new LeafSpec("frontend", now, now.AddDays(1))
        {
            DnsNames = ["frontend"],
            ServerAuthentication = false,
        });
        return (new StaticCertificateSource(new CertificateCredentials(backend, null, bundle)), new StaticCertificateSource(new CertificateCredentials(frontend, null, bundle)));
    }
}
