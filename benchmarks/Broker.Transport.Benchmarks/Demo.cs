using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// The end-to-end demo: a listener (the backend) and a connector (the frontend) over loopback. The
/// frontend sends Bogus-made MQTT-style telemetry frames, the backend echoes each one, and the frontend
/// checks every echoed byte against what it sent. Exit code 0 when all match, 1 on any mismatch, 2 when
/// the run fails or takes too long.
/// </summary>
internal static class Demo
{
    private const int DefaultFrames = 10_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : DefaultFrames;
        var messages = Telemetry.Messages(count, seed: 2025);
        var payloadBytes = messages.Sum(m => (long)m.Length);
        using var timeout = new CancellationTokenSource(Timeout);
        var ct = timeout.Token;
        try
        {
            await using var listener = LoopbackPairs.ListenPlaintext();
            Console.WriteLine($"Broker.Transport demo: backend listening on {listener.LocalEndPoint} (plaintext)");
            var clock = Stopwatch.StartNew();
            await using var frontend = await LoopbackPairs.PlaintextConnector().ConnectAsync(listener.LocalEndPoint, ct);
            await using var backend = await listener.AcceptAsync(ct) ?? throw new InvalidOperationException("The listener closed.");

            var (echoed, verified, mismatch) = await EchoCheckAsync(frontend, backend, messages, ct);
            clock.Stop();

            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"  first topic  {Telemetry.Topic(messages[0])}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  frames       {count:N0} sent, {echoed:N0} echoed, {verified:N0} verified byte for byte"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  bytes        {payloadBytes:N0} payload each way ({payloadBytes / (double)count:F0} B per frame on average)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  elapsed      {seconds * 1000:F1} ms (connect, send, echo, verify)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  throughput   {2 * payloadBytes / seconds / 1e6:F1} MB/s (payload, both directions), {count / seconds:N0} round trips/s"));
            if (mismatch is not null || verified != count || echoed != count)
            {
                Console.WriteLine($"  result       MISMATCH: {mismatch ?? $"{verified} of {count} frames came back"}");
                return 1;
            }

            Console.WriteLine("  result       OK");
            return 0;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Console.Error.WriteLine($"The demo did not finish within {Timeout.TotalSeconds:0} s.");
            return 2;
        }
        catch (TransportException ex)
        {
            Console.Error.WriteLine($"The demo failed: {ex.Message}");
            return 2;
        }
    }

    /// <summary>
    /// Sends every message as a frame from <paramref name="frontend"/>, flushed one by one, while
    /// <paramref name="backend"/> echoes each frame back and the frontend compares every echoed byte with what
    /// it sent; then half-closes. The report runs it over both modes before it measures anything.
    /// </summary>
    /// <returns>How many frames the backend echoed, how many came back intact, and the first mismatch.</returns>
    public static async Task<(int Echoed, int Verified, string? Mismatch)> EchoCheckAsync(TransportConnection frontend, TransportConnection backend, byte[][] messages, CancellationToken ct)
    {
        var echoing = EchoAsync(backend, ct);
        var verifying = VerifyAsync(frontend, messages, ct);
        foreach (var message in messages)
        {
            frontend.Output.WriteFrame(message);
            await frontend.Output.FlushAsync(ct);
        }

        // Half-close: the backend's reader ends after the last frame, the echo completes its output, and
        // the frontend's reader ends after the last echoed frame.
        await frontend.Output.CompleteAsync();
        var echoed = await echoing;
        var (verified, mismatch) = await verifying;
        return (echoed, verified, mismatch);
    }

    /// <summary>The backend: sends every frame back as it arrived, then half-closes.</summary>
    private static async Task<int> EchoAsync(TransportConnection backend, CancellationToken ct)
    {
        var frames = backend.CreateFrameReader();
        var echoed = 0;
        while (await frames.ReadFrameAsync(ct))
        {
            backend.Output.WriteFrame(frames.Current);
            await backend.Output.FlushAsync(ct);
            echoed++;
        }

        await backend.Output.CompleteAsync();
        return echoed;
    }

    /// <summary>The frontend's reader: compares each echoed frame with the one sent in its place.</summary>
    private static async Task<(int Verified, string? Mismatch)> VerifyAsync(TransportConnection frontend, byte[][] sent, CancellationToken ct)
    {
        var frames = frontend.CreateFrameReader();
        var index = 0;
        while (await frames.ReadFrameAsync(ct))
        {
            if (index >= sent.Length)
            {
                return (index, $"an extra frame arrived after the {sent.Length:N0} sent");
            }

            if (!SameBytes(frames.Current, sent[index]))
            {
                return (index, $"frame {index:N0} ({Telemetry.Topic(sent[index])}) came back different: {frames.Current.Length} bytes, {sent[index].Length} sent");
            }

            index++;
        }

        return (index, null);
    }

    private static bool SameBytes(in ReadOnlySequence<byte> received, ReadOnlySpan<byte> expected)
    {
        if (received.Length != expected.Length)
        {
            return false;
        }

        foreach (var segment in received)
        {
            if (!segment.Span.SequenceEqual(expected[..segment.Length]))
            {
                return false;
            }

            expected = expected[segment.Length..];
        }

        return true;
    }
}
