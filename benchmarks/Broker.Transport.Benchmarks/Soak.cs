using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <c>soak [--duration 10m] [--connections 8] [--rate 500] [--leaf-every 3s] [--root-every 15s]</c>: mixed load over
/// encrypted (Enabled) connections for a while, with the embedded issuer renewing both leaves and rolling its
/// root over every few seconds. Long-lived connections stream numbered frames of mixed sizes (0 B to 256 KiB,
/// about 6 KB on average) at <c>--rate</c> frames a second each, which the backend checks and echoes; new connections keep arriving (a few frames each, then a graceful
/// close). At the end every frame sent must have reached the backend intact and in order, and come back
/// intact; any error, refused handshake or missing frame fails the run (exit code 1).
/// </summary>
internal static class Soak
{
    // Mostly small frames, as a broker's are, with a tail of large ones that span many TLS records and pool blocks.
    private static readonly int[] Sizes = [0, 16, 64, 200, 256, 512, 1_024, 4_000, 16_384, 16_385, 65_536, 262_144];
    private static readonly int[] Weights = [2, 10, 10, 10, 20, 10, 10, 6, 3, 2, 2, 1];

    public static async Task<int> RunAsync(string[] args)
    {
        var duration = Arguments.Duration(args, "--duration", TimeSpan.FromMinutes(10));
        var connections = (int)Arguments.Number(args, "--connections", 8);
        var rate = Arguments.Number(args, "--rate", 500);
        var leafEvery = Arguments.Duration(args, "--leaf-every", TimeSpan.FromSeconds(3));
        var rootEvery = Arguments.Duration(args, "--root-every", TimeSpan.FromSeconds(15));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"soak: {duration.TotalSeconds:0} s, {connections} streams at {rate} frames/s each, Enabled, new leaves every {leafEvery.TotalSeconds:0.#} s, new root every {rootEvery.TotalSeconds:0.#} s"));

        using var issuer = TlsLoopback.StartIssuer();
        await using var listener = TlsLoopback.Listen(issuer.Backend);
        var connector = TlsLoopback.Connector(issuer.Frontend);
        var errors = new ConcurrentQueue<string>();
        listener.HandshakeFailed += (_, e) => errors.Enqueue($"handshake refused ({e.RemoteEndPoint}): {e.Error.Reason}: {e.Error.Message}");
        var totals = new Totals();
        using var stopServing = new CancellationTokenSource();
        var serving = ServeAsync(listener, totals, errors, stopServing.Token);

        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(duration);
        var streams = Enumerable.Range(0, connections).Select(id => StreamAsync(connector, listener, id, frameLimit: long.MaxValue, rate, totals, errors, stop.Token)).ToList();
        var churn = ChurnAsync(connector, listener, totals, errors, stop.Token);
        var (leaves, roots) = await RotateAsync(issuer, leafEvery, rootEvery, stop.Token);
        await Task.WhenAll(streams.Append(churn));
        await stopServing.CancelAsync();
        await serving;

        var intact = totals.Sent == totals.CheckedByBackend && totals.Sent == totals.EchoesChecked;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"soak: {clock.Elapsed.TotalSeconds:0} s; frames sent {totals.Sent:N0} ({totals.Bytes / 1e6:N1} MB payload), checked by the backend {totals.CheckedByBackend:N0}, echoes checked {totals.EchoesChecked:N0}; "
            + $"leaf rotations {leaves}, root rollovers {roots}, roots trusted at the end {issuer.TrustBundle.Count}; connections {totals.Connections:N0} ({connections} long-lived); "
            + $"slowest connect {totals.SlowestConnect.TotalMilliseconds:0} ms; handshakes refused {listener.HandshakesFailed}; errors {errors.Count}"));
        foreach (var error in errors.Take(20))
        {
            Console.WriteLine($"  error: {error}");
        }

        var ok = intact && errors.IsEmpty && listener.HandshakesFailed == 0 && totals.Sent > 0 && leaves > 0;
        Console.WriteLine(ok ? "soak: every frame arrived intact" : "soak: FAILED");
        return ok ? 0 : 1;
    }

    /// <summary>Renews both leaves every <paramref name="leafEvery"/> and rolls the root over every <paramref name="rootEvery"/> until stopped.</summary>
    private static async Task<(int Leaves, int Roots)> RotateAsync(InternalIssuer issuer, TimeSpan leafEvery, TimeSpan rootEvery, CancellationToken stop)
    {
        var (leaves, roots) = (0, 0);
        var nextRoot = rootEvery;
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(leafEvery, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (clock.Elapsed >= nextRoot)
            {
                issuer.RollOverRootNow();
                roots++;
                nextRoot += rootEvery;
            }
            else
            {
                issuer.RenewNow();
                leaves++;
            }
        }

        return (leaves, roots);
    }

    /// <summary>New connections all along: a few frames each, then a graceful close.</summary>
    private static async Task ChurnAsync(TransportConnector connector, TransportListener listener, Totals totals, ConcurrentQueue<string> errors, CancellationToken stop)
    {
        for (var id = 1_000_000; !stop.IsCancellationRequested; id++)
        {
            await StreamAsync(connector, listener, id, frameLimit: 5, rate: 0, totals, errors, CancellationToken.None);
            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// One connection: sends frames numbered from 0 until stopped (or <paramref name="frameLimit"/> are sent),
    /// reads the echoes and checks each; then half-closes and waits for the backend's end.
    /// </summary>
    /// <remarks>
    /// The rate leaves the machine time for handshakes: a stream that writes as fast as it can keeps thread-pool
    /// threads busy generating and checking payloads, and a new handshake's continuations then wait behind them
    /// (on this shared 2-core machine, 8 unpaced streams pushed a handshake past its 10 s timeout).
    /// </remarks>
    private static async Task StreamAsync(TransportConnector connector, TransportListener listener, int id, long frameLimit, long rate, Totals totals, ConcurrentQueue<string> errors, CancellationToken stop)
    {
        TransportConnection connection;
        var connecting = Stopwatch.StartNew();
        try
        {
            connection = await connector.ConnectAsync(listener.LocalEndPoint, CancellationToken.None);
            totals.RecordConnect(connecting.Elapsed);
        }
        catch (TransportException ex)
        {
            errors.Enqueue($"connection {id} could not connect: {ex.GetType().Name}: {ex.Message}");
            return;
        }

        Interlocked.Increment(ref totals.Connections);
        await using var _ = connection;
        long sent = 0;
        var sending = Task.Run(async () =>
        {
            var random = new Random(id);
            var clock = Stopwatch.StartNew();
            for (; sent < frameLimit && !stop.IsCancellationRequested; sent++)
            {
                if (rate > 0 && sent % 50 == 0 && TimeSpan.FromSeconds((double)sent / rate) - clock.Elapsed is { Ticks: > 0 } ahead)
                {
                    await Task.Delay(ahead, CancellationToken.None);
                }

                var payload = Payload(id, sent, PickSize(random));
                await connection.Output.WriteFrameAsync(payload, CancellationToken.None);
                Interlocked.Increment(ref totals.Sent);
                Interlocked.Add(ref totals.Bytes, payload.Length);
            }

            await connection.Output.CompleteAsync();
        }, CancellationToken.None);

        try
        {
            var frames = connection.CreateFrameReader(maxFrameSize: 1024 * 1024);
            long echoed = 0;
            while (await frames.ReadFrameAsync(CancellationToken.None))
            {
                if (Check(frames.Current, id, echoed) is { } problem)
                {
                    errors.Enqueue($"connection {id}: echo {echoed}: {problem}");
                    connection.Abort("corrupted echo");
                    break;
                }

                echoed++;
                Interlocked.Increment(ref totals.EchoesChecked);
            }

            await sending;
            if (echoed != sent)
            {
                errors.Enqueue($"connection {id}: sent {sent} frames, {echoed} came back");
            }
        }
        catch (TransportException ex)
        {
            errors.Enqueue($"connection {id} failed after {sent} frames: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>The backend: each connection's frames are checked (number and content) and echoed until the frontend's end.</summary>
    private static async Task ServeAsync(TransportListener listener, Totals totals, ConcurrentQueue<string> errors, CancellationToken stop)
    {
        var echoes = new List<Task>();
        try
        {
            while (await listener.AcceptAsync(stop) is { } connection)
            {
                echoes.Add(EchoAsync(connection, totals, errors));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(echoes);
    }

    private static async Task EchoAsync(TransportConnection connection, Totals totals, ConcurrentQueue<string> errors)
    {
        await using var _ = connection;
        try
        {
            var frames = connection.CreateFrameReader(maxFrameSize: 1024 * 1024);
            for (long sequence = 0; await frames.ReadFrameAsync(CancellationToken.None); sequence++)
            {
                var id = frames.Current.Length >= 12 ? ReadId(frames.Current) : -1;
                if (id >= 0 && Check(frames.Current, id, sequence) is { } problem)
                {
                    errors.Enqueue($"backend: connection {id}: frame {sequence}: {problem}");
                    connection.Abort("corrupted frame");
                    return;
                }

                Interlocked.Increment(ref totals.CheckedByBackend);
                connection.Output.WriteFrame(frames.Current);
                await connection.Output.FlushAsync(CancellationToken.None);
            }

            await connection.Output.CompleteAsync();
        }
        catch (TransportException ex)
        {
            errors.Enqueue($"backend: {connection.RemoteEndPoint}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Frame <paramref name="sequence"/> of connection <paramref name="id"/>: its id and number, then bytes that depend on both.</summary>
    private static byte[] Payload(int id, long sequence, int size)
    {
        var payload = new byte[size];
        Fill(payload, id, sequence);
        return payload;
    }

    private static void Fill(Span<byte> payload, int id, long sequence)
    {
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = unchecked((byte)((sequence * 131) + (i * 7) + id));
        }

        if (payload.Length >= 12)
        {
            BinaryPrimitives.WriteInt32BigEndian(payload, id);
            BinaryPrimitives.WriteInt64BigEndian(payload[4..], sequence);
        }
    }

    private static int ReadId(in ReadOnlySequence<byte> frame)
    {
        Span<byte> header = stackalloc byte[4];
        frame.Slice(0, 4).CopyTo(header);
        return BinaryPrimitives.ReadInt32BigEndian(header);
    }

    /// <summary>Null when <paramref name="frame"/> is exactly frame <paramref name="sequence"/> of connection <paramref name="id"/> (whatever its size); else what differs.</summary>
    private static string? Check(in ReadOnlySequence<byte> frame, int id, long sequence)
    {
        var expected = new byte[frame.Length];
        Fill(expected, id, sequence);
        var actual = frame.ToArray();
        if (actual.AsSpan().SequenceEqual(expected))
        {
            return null;
        }

        var at = actual.AsSpan().CommonPrefixLength(expected);
        return string.Create(CultureInfo.InvariantCulture, $"{actual.Length} bytes, first difference at byte {at}");
    }

    private static int PickSize(Random random)
    {
        var pick = random.Next(Weights.Sum());
        for (var i = 0; i < Sizes.Length; i++)
        {
            pick -= Weights[i];
            if (pick < 0)
            {
                return Sizes[i];
            }
        }

        return Sizes[0];
    }

    /// <summary>The counts, shared by every connection of the run.</summary>
    private sealed class Totals
    {
        public long Sent;
        public long Bytes;
        public long CheckedByBackend;
        public long EchoesChecked;
        public long Connections;
        private long _slowestConnectTicks;

        public TimeSpan SlowestConnect => TimeSpan.FromTicks(Interlocked.Read(ref _slowestConnectTicks));

        public void RecordConnect(TimeSpan took)
        {
            long seen;
            while (took.Ticks > (seen = Interlocked.Read(ref _slowestConnectTicks)) && Interlocked.CompareExchange(ref _slowestConnectTicks, took.Ticks, seen) != seen)
            {
            }
        }
    }
}
