using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// A frontend pod: a <see cref="ConnectionKeeper"/> per backend streams numbered frames, one at a time, each answered
/// before the next (a frame whose connection ended before its answer is sent again on the next connection); and a
/// probe handshake to every backend every <see cref="PodSettings.ProbeEvery"/>, so that a refusal shows even when no
/// link needed a new connection.
/// </summary>
internal sealed class FleetFrontend
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);
    private readonly PodSettings _settings;
    private readonly SecretFolderCertificateSource _source;
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly Lock _slowestGate = new();
    private long _handshakes;
    private long _failed;
    private long _drains;
    private TimeSpan _slowest;

    private FleetFrontend(PodSettings settings, SecretFolderCertificateSource source)
    {
        _settings = settings;
        _source = source;
    }

    public static async Task<PodReport> RunAsync(PodSettings settings, Task stop)
    {
        using var logs = PodSettings.Logs();
        using var source = SecretFolderCertificateSource.Open(settings.Secret, settings.SourceOptions(logs));
        var frontend = new FleetFrontend(settings, source);
        Console.WriteLine("ready");
        using var stopping = new CancellationTokenSource();
        var streams = settings.Backends.Select((b, j) => new Stream($"{settings.Name}/backend-{j}", b.Name, new IPEndPoint(IPAddress.Loopback, b.Port))).ToList();
        var keepers = streams.Select(s => new ConnectionKeeper(frontend.Connector(s.ServerName), s.EndPoint, new ConnectionKeeperOptions
        {
            InitialBackoff = settings.Poll,
            MaxBackoff = TimeSpan.FromSeconds(2),
        })).ToList();
        var links = streams.Select((s, j) => frontend.LinkAsync(keepers[j], s, stopping.Token)).ToList();
        var probes = frontend.ProbeAsync(streams, stopping.Token);

        await stop;
        await stopping.CancelAsync();
        await probes;
        await Task.WhenAll(links);
        foreach (var keeper in keepers)
        {
            await keeper.DisposeAsync();
        }

        return new PodReport
        {
            Pod = settings.Name,
            Handshakes = Interlocked.Read(ref frontend._handshakes),
            FailedHandshakes = Interlocked.Read(ref frontend._failed),
            SlowestConnectMs = frontend._slowest.TotalMilliseconds,
            Drains = Interlocked.Read(ref frontend._drains),
            Reconnects = keepers.Sum(k => k.Reconnects),
            HandOvers = keepers.Sum(k => k.HandOvers),
            Frames = streams.ToDictionary(s => s.Id, s => s.Sent),
            Errors = [.. frontend._errors.Take(10)],
        };
    }

    private TransportConnector Connector(string serverName) => new(new TransportConnectorOptions
    {
        Certificates = _source,
        ServerIdentity = serverName,
        DrainGrace = _settings.DrainGrace,
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    });

    /// <summary>Takes the keeper's connections; each new one gets the writes, and the one before finishes its frame and ends.</summary>
    private async Task LinkAsync(ConnectionKeeper keeper, Stream stream, CancellationToken stopping)
    {
        var connecting = Stopwatch.GetTimestamp();
        var first = true;
        keeper.StateChanged += (_, e) =>
        {
            if (e.State == ConnectionKeeperState.Connecting)
            {
                connecting = Stopwatch.GetTimestamp();
            }
            else if (e.State == ConnectionKeeperState.Ready)
            {
                Connected(Stopwatch.GetElapsedTime(connecting), timed: !first);
                first = false;
            }
            else if (e.State == ConnectionKeeperState.BackingOff && e.Error is { } error)
            {
                Failed(stream, error);
            }
        };

        var senders = new List<Task>();
        CancellationTokenSource? previous = null;
        try
        {
            await foreach (var connection in keeper.ConnectionsAsync(stopping))
            {
                connection.DrainRequested.UnsafeRegister(static state => Interlocked.Increment(ref ((FleetFrontend)state!)._drains), this);
                if (previous is not null)
                {
                    await previous.CancelAsync();
                }

                previous = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                senders.Add(SendAsync(connection, stream, previous.Token));
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }

        await Task.WhenAll(senders);
        previous?.Dispose();
    }

    /// <summary>Streams frames on one connection until told to stop or the connection ends; then ends its side and disposes it.</summary>
    private async Task SendAsync(TransportConnection connection, Stream stream, CancellationToken stop)
    {
        await using var _ = connection;
        var answers = connection.CreateFrameReader(FleetFrames.Size);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await stream.Turn.WaitAsync(CancellationToken.None);
                try
                {
                    // One frame in flight per stream, across the connections of its link.
                    var seq = stream.Pending ?? stream.Sent++;
                    stream.Pending = seq;

                    // Stopping waits for the answer to the frame in flight; a backend that never answers is an error.
                    using var answer = new CancellationTokenSource(AnswerTimeout);
                    await connection.Output.WriteFrameAsync(FleetFrames.Create(seq, 0), answer.Token);
                    if (!await answers.ReadFrameAsync(answer.Token))
                    {
                        return;
                    }

                    var ack = FleetFrames.ReadAck(answers.Current);
                    if (ack != seq)
                    {
                        throw new InvalidDataException($"{stream.Id}: frame {seq} was answered with {ack}.");
                    }

                    stream.Pending = null;
                }
                finally
                {
                    stream.Turn.Release();
                }

                await Task.Delay(_settings.FrameEvery, CancellationToken.None);
            }

            await connection.Output.CompleteAsync();
            using var end = new CancellationTokenSource(AnswerTimeout);
            while (await answers.ReadFrameAsync(end.Token))
            {
            }
        }
        catch (OperationCanceledException)
        {
            _errors.Enqueue($"{stream.Id} on {connection.ConnectionId}: no answer within {AnswerTimeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is TransportException or InvalidDataException)
        {
            // The frame in flight stays pending, sent again on the next connection. A refusal at the first read is a
            // failed handshake; the keeper reports it too, as the reason it reconnects, and that is where it is counted.
            if (ex is not HandshakeException and not ConnectionDrainedException and not ConnectionResetException)
            {
                _errors.Enqueue($"{stream.Id} on {connection.ConnectionId}: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    /// <summary>Every ProbeEvery, a fresh connection to each backend: a handshake, one frame, its answer, a clean end.</summary>
    private async Task ProbeAsync(IReadOnlyList<Stream> streams, CancellationToken stopping)
    {
        var connectors = streams.Select(s => Connector(s.ServerName)).ToList();
        for (var round = 0; !stopping.IsCancellationRequested; round++)
        {
            var timed = round > 0;
            await Task.WhenAll(streams.Select((s, j) => ProbeOnceAsync(connectors[j], s, timed)));
            try
            {
                await Task.Delay(_settings.ProbeEvery, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ProbeOnceAsync(TransportConnector connector, Stream stream, bool timed)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await using var connection = await connector.ConnectAsync(stream.EndPoint);
            var elapsed = Stopwatch.GetElapsedTime(started);
            await connection.Output.WriteFrameAsync(FleetFrames.Create(0, FleetFrames.ProbeStream));
            var answers = connection.CreateFrameReader(FleetFrames.Size);
            if (!await answers.ReadFrameAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)))
            {
                throw new InvalidDataException("the backend ended the probe before answering");
            }

            await connection.Output.CompleteAsync();
            Connected(elapsed, timed);
        }
        catch (Exception ex) when (ex is TransportException or InvalidDataException or TimeoutException)
        {
            Failed(stream, ex);
        }
    }

    /// <summary>A handshake succeeded; <paramref name="timed"/> false for a stream's first, which a fresh process's warm-up (JIT, OpenSSL) slows.</summary>
    private void Connected(TimeSpan took, bool timed)
    {
        Interlocked.Increment(ref _handshakes);
        lock (_slowestGate)
        {
            _slowest = timed && took > _slowest ? took : _slowest;
        }
    }

    private void Failed(Stream stream, Exception error)
    {
        if (error is HandshakeException)
        {
            Interlocked.Increment(ref _handshakes);
            Interlocked.Increment(ref _failed);
        }

        _errors.Enqueue($"{stream.Id}: {error.GetType().Name}: {error.Message}");
    }

    /// <summary>One frontend-to-backend stream: its sequence numbers, and the frame sent but not answered yet.</summary>
    private sealed class Stream(string id, string serverName, IPEndPoint endPoint)
    {
        public string Id { get; } = id;

        public string ServerName { get; } = serverName;

        public IPEndPoint EndPoint { get; } = endPoint;

        public SemaphoreSlim Turn { get; } = new(1, 1);

        public long Sent { get; set; }

        public long? Pending { get; set; }
    }
}
