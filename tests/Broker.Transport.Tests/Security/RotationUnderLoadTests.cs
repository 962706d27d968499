using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// Rotation while the transport is busy: long-lived TLS connections stream frames both ways, new connections
/// keep arriving, and the issuer renews its leaves and rolls its root over again and again.
/// </summary>
public sealed class RotationUnderLoadTests
{
    private const int Streams = 8;
    private const int Rotations = 10;
    private const int HeaderSize = 12;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Streams_and_new_connections_survive_repeated_leaf_and_root_rotations_without_a_failed_handshake_or_a_lost_frame()
    {
        var ct = TestContext.Current.CancellationToken;
        using var issuer = InternalIssuer.Start(new InternalIssuerOptions());
        await using var listener = TransportListener.Bind(Loopback.AnyPort, new TransportListenerOptions { Certificates = issuer.Backend });
        var client = new TransportConnectorOptions { Certificates = issuer.Frontend, ServerIdentity = "localhost" };
        var errors = new ConcurrentQueue<string>();
        listener.HandshakeFailed += (_, e) => errors.Enqueue($"The backend refused {e.RemoteEndPoint}: {e.Error.Reason}: {e.Error.Message}");
        var frontendSeen = new ConcurrentDictionary<int, string>();
        using var stopServing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var server = ServeAsync(listener, frontendSeen, errors, stopServing.Token);

        // Eight streams, open from before the first rotation to after the last.
        using var stopStreaming = new CancellationTokenSource();
        var streams = new List<Task<long>>();
        for (var id = 0; id < Streams; id++)
        {
            var connection = await new TransportConnector(client).ConnectAsync(listener.LocalEndPoint, ct);
            streams.Add(StreamAsync(connection, id, frames: int.MaxValue, () => stopStreaming.IsCancellationRequested, errors, ct));
        }

        // New connections all along, one frame each.
        var churned = 0;
        var churn = Task.Run(
            async () =>
            {
                for (var id = 1_000_000; !stopStreaming.IsCancellationRequested; id++)
                {
                    try
                    {
                        var connection = await new TransportConnector(client).ConnectAsync(listener.LocalEndPoint, ct);
                        await StreamAsync(connection, id, frames: 1, static () => false, errors, ct);
                        churned++;
                    }
                    catch (Exception ex) when (ex is TransportException or TimeoutException)
                    {
                        errors.Enqueue($"A new connection ({id}) failed: {ex.GetType().Name}: {ex.Message} (the backend {(frontendSeen.ContainsKey(id) ? "got" : "never got")} its first frame)");
                    }
                }
            },
            ct);

        // Rotate, and check that the next connection is offered the current leaves, never a rotated-out one.
        try
        {
            var retired = new HashSet<string>();
            for (var rotation = 1; rotation <= Rotations; rotation++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
                retired.Add(issuer.BackendSide.Leaf!.Thumbprint);
                retired.Add(issuer.FrontendSide.Leaf!.Thumbprint);
                if (rotation % 2 == 1)
                {
                    issuer.RenewNow();
                }
                else
                {
                    issuer.RollOverRootNow();
                }

                var id = 2_000_000 + rotation;
                var connection = await new TransportConnector(client).ConnectAsync(listener.LocalEndPoint, ct);
                var backendSeen = connection.Security.PeerCertificate!.Certificate.Thumbprint;
                await StreamAsync(connection, id, frames: 3, static () => false, errors, ct);
                Assert.Equal(issuer.BackendSide.Leaf!.Thumbprint, backendSeen);
                Assert.Equal(issuer.FrontendSide.Leaf!.Thumbprint, frontendSeen[id]);
                Assert.DoesNotContain(backendSeen, retired);
                Assert.DoesNotContain(frontendSeen[id], retired);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
        finally
        {
            // Also when an assertion failed: the streams must not outlive the test.
            await stopStreaming.CancelAsync();
        }

        var sent = await Task.WhenAll(streams).WaitAsync(TimeSpan.FromSeconds(60), ct);
        await churn.WaitAsync(TimeSpan.FromSeconds(60), ct);
        await stopServing.CancelAsync();
        await server.WaitAsync(TimeSpan.FromSeconds(60), ct);

        Assert.True(errors.IsEmpty, string.Join("\n", errors));
        Assert.Equal(0, listener.HandshakesFailed);
        Assert.Equal(Rotations / 2 + 1, issuer.TrustBundle.Count);
        Assert.All(sent, count => Assert.True(count > 50, $"A stream sent only {count} frames."));
        Assert.True(churned > 0, "No new connection was made during the rotations.");
        TestContext.Current.SendDiagnosticMessage($"Frames per stream: {string.Join(", ", sent)}; new connections: {churned}.");
    }

    /// <summary>
    /// Sends frames numbered from 0 until <paramref name="stopped"/> (or <paramref name="frames"/> are sent), while
    /// checking that the backend echoes each one back in order and whole; then half-closes and waits for the
    /// echo of the last. Returns how many frames went each way.
    /// </summary>
    private static async Task<long> StreamAsync(TransportConnection connection, int id, int frames, Func<bool> stopped, ConcurrentQueue<string> errors, CancellationToken ct)
    {
        await using var _ = connection;
        var sent = 0L;
        var received = 0L;
        var echoes = connection.CreateFrameReader();
        var reading = Task.Run(
            async () =>
            {
                while (await echoes.ReadFrameAsync(ct))
                {
                    var problem = Check(echoes.Current, id, received);
                    if (problem is not null)
                    {
                        errors.Enqueue($"Stream {id}, echo {received}: {problem}");
                        return received;
                    }

                    received++;
                }

                return received;
            },
            ct);

        while (!stopped() && sent < frames)
        {
            var result = await connection.Output.WriteFrameAsync(Frame(id, sent), ct);
            if (result.IsCompleted)
            {
                errors.Enqueue($"Stream {id}: the backend stopped reading after {sent} frames.");
                break;
            }

            sent++;

            // Streaming, not saturating: the handshakes under test need the CPU too.
            if (sent % 8 == 0)
            {
                await Task.Delay(1, ct);
            }
        }

        await connection.Output.CompleteAsync();
        long echoed;
        try
        {
            echoed = await reading.WaitAsync(TimeSpan.FromSeconds(30), ct);
        }
        catch (TimeoutException)
        {
            // The backend echoes what it gets and ends once this side's end arrives: something was lost.
            errors.Enqueue($"Stream {id} ({connection}): sent {sent} frames and half-closed; {Volatile.Read(ref received)} came back, then nothing for 30 s.");
            throw;
        }

        if (echoed != sent)
        {
            errors.Enqueue($"Stream {id}: sent {sent} frames, {echoed} came back.");
        }

        return sent;
    }

    /// <summary>Accepts until stopped; each connection's frames are checked in order and echoed back; when it half-closes, so does the echo.</summary>
    private static async Task ServeAsync(TransportListener listener, ConcurrentDictionary<int, string> frontendSeen, ConcurrentQueue<string> errors, CancellationToken stop)
    {
        var handlers = new List<Task>();
        try
        {
            while (await listener.AcceptAsync(stop) is { } connection)
            {
                handlers.Add(EchoAsync(connection));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(handlers);

        async Task EchoAsync(TransportConnection connection)
        {
            await using var _ = connection;
            var frames = connection.CreateFrameReader();
            var expected = 0L;
            try
            {
                while (await frames.ReadFrameAsync(CancellationToken.None))
                {
                    var frame = frames.Current;
                    var id = ReadId(frame);
                    if (expected == 0)
                    {
                        frontendSeen[id] = connection.Security.PeerCertificate?.Certificate.Thumbprint ?? "none";
                    }

                    var problem = Check(frame, id, expected);
                    if (problem is not null)
                    {
                        errors.Enqueue($"Backend, stream {id}, frame {expected}: {problem}");
                        return;
                    }

                    expected++;
                    connection.Output.WriteFrame(frame);
                    await connection.Output.FlushAsync(CancellationToken.None);
                }

                await connection.Output.CompleteAsync();
            }
            catch (Exception ex) when (ex is TransportException or InvalidOperationException)
            {
                errors.Enqueue($"Backend connection {connection}: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    /// <summary>A frame: the stream's id, the frame's number, then a payload whose length and bytes follow from both.</summary>
    private static byte[] Frame(int id, long number)
    {
        var length = 1 + (int)(((number * 7919) + (id * 104_729L)) % 4_000);
        var frame = new byte[HeaderSize + length];
        BinaryPrimitives.WriteInt32BigEndian(frame, id);
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(4), number);
        for (var i = 0; i < length; i++)
        {
            frame[HeaderSize + i] = Pattern(id, number, i);
        }

        return frame;
    }

    private static byte Pattern(int id, long number, int index) => (byte)((number * 31) + (index * 7) + id);

    private static int ReadId(in ReadOnlySequence<byte> frame)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        if (frame.Length < HeaderSize)
        {
            return -1;
        }

        frame.Slice(0, HeaderSize).CopyTo(header);
        return BinaryPrimitives.ReadInt32BigEndian(header);
    }

    /// <summary>Null when <paramref name="frame"/> is exactly frame <paramref name="number"/> of stream <paramref name="id"/>; else what differs.</summary>
    private static string? Check(in ReadOnlySequence<byte> frame, int id, long number)
    {
        var bytes = frame.ToArray();
        if (bytes.Length < HeaderSize)
        {
            return $"only {bytes.Length} bytes";
        }

        var (gotId, gotNumber) = (BinaryPrimitives.ReadInt32BigEndian(bytes), BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(4)));
        if (gotId != id || gotNumber != number)
        {
            return $"got stream {gotId} frame {gotNumber}, expected stream {id} frame {number} (a frame lost, repeated or reordered)";
        }

        var expected = Frame(id, number);
        if (!bytes.AsSpan().SequenceEqual(expected))
        {
            return $"{bytes.Length} bytes where {expected.Length} were sent, or different bytes (corrupted)";
        }

        return null;
    }
}
