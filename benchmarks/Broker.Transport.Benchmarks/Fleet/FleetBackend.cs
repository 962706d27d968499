using System.Collections.Concurrent;
using System.Net;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// A backend pod: a TLS listener on its Secret folder (and trust bundle folder); it checks every frame a frontend
/// streams, answers each with its sequence number, and counts per stream the distinct frames it received.
/// </summary>
internal sealed class FleetBackend
{
    private readonly PodSettings _settings;
    private readonly ConcurrentDictionary<string, StreamState> _streams = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private long _drains;
    private long _corrupt;

    private FleetBackend(PodSettings settings) => _settings = settings;

    public static async Task<PodReport> RunAsync(PodSettings settings, Task stop)
    {
        using var logs = PodSettings.Logs();
        using var source = SecretFolderCertificateSource.Open(settings.Secret, settings.SourceOptions(logs));
        await using var listener = TransportListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new TransportListenerOptions
        {
            Certificates = source,
            DrainGrace = settings.DrainGrace,
        });
        Console.WriteLine($"ready {listener.LocalEndPoint.Port}");
        var backend = new FleetBackend(settings);
        var serving = new ConcurrentDictionary<Task, byte>();
        var accepting = Task.Run(async () =>
        {
            while (await listener.AcceptAsync() is { } connection)
            {
                var task = backend.ServeAsync(connection);
                serving[task] = 0;
                _ = task.ContinueWith(t => serving.TryRemove(t, out _), TaskScheduler.Default);
            }
        });

        await stop;
        await listener.DisposeAsync();
        await accepting;
        await Task.WhenAll(serving.Keys).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return new PodReport
        {
            Pod = settings.Name,
            Drains = Interlocked.Read(ref backend._drains),
            Frames = backend._streams.ToDictionary(s => s.Key, s => s.Value.Distinct),
            Corrupt = Interlocked.Read(ref backend._corrupt),
            Gaps = backend._streams.Values.Sum(s => s.Gaps),
            Refused = listener.HandshakesFailed,
            Errors = [.. backend._errors.Take(10)],
        };
    }

    private async Task ServeAsync(TransportConnection connection)
    {
        await using var _ = connection;
        using var drained = connection.DrainRequested.UnsafeRegister(static state => Interlocked.Increment(ref ((FleetBackend)state!)._drains), this);
        try
        {
            var frames = connection.CreateFrameReader(FleetFrames.Size);
            var frontend = connection.Security.PeerCertificate?.DnsNames is [var name, ..] ? name : "?";
            while (await frames.ReadFrameAsync())
            {
                if (!FleetFrames.TryCheck(frames.Current, out var seq, out var stream))
                {
                    Interlocked.Increment(ref _corrupt);
                    _errors.Enqueue($"a corrupt frame from {frontend}");
                    break;
                }

                if (stream != FleetFrames.ProbeStream)
                {
                    _streams.GetOrAdd($"{frontend.Split('.')[0]}/{_settings.Name}", _ => new StreamState()).Received(seq);
                }

                await connection.Output.WriteFrameAsync(FleetFrames.Ack(seq));
            }

            await connection.Output.CompleteAsync();
        }
        catch (TransportException ex)
        {
            // A connection the transport closed at its bound, or a frontend refused late: counted by the frontend.
            if (ex is not ConnectionDrainedException)
            {
                _errors.Enqueue($"{connection.ConnectionId}: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    /// <summary>One frontend's stream to this backend: the frames received, once each, in order.</summary>
    private sealed class StreamState
    {
        private readonly Lock _gate = new();
        private long _next;

        public long Distinct { get; private set; }

        public long Gaps { get; private set; }

        public void Received(long seq)
        {
            lock (_gate)
            {
                if (seq < _next)
                {
                    return; // sent again after a connection ended before its answer: already counted.
                }

                Gaps += seq - _next;
                Distinct++;
                _next = seq + 1;
            }
        }
    }
}
