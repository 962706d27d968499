using BenchmarkDotNet.Attributes;
using Broker.Transport.Connections;
using Broker.Transport.Sockets;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// What a connection costs to set up and tear down, next to the part that pooling the socket event args
/// across connections (as Kestrel pools its SocketSender) would save: the two
/// <see cref="SocketAwaitableEventArgs"/> each connection owns. Steady-state traffic allocates nothing
/// either way; pooling could only pay off at connection churn, and only if this share is large.
/// </summary>
/// <remarks>
/// Both ends abort rather than close gracefully: a graceful close leaves the port in TIME_WAIT, and
/// BenchmarkDotNet's thousands of iterations would run out of ephemeral ports.
/// </remarks>
[MemoryDiagnoser]
public class ConnectionSetupBenchmarks
{
    private TransportListener? _listener;
    private TransportConnector? _connector;

    /// <summary>Binds the plaintext listener once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _listener = LoopbackPairs.ListenPlaintext();
        _connector = LoopbackPairs.PlaintextConnector();
    }

    /// <summary>Unbinds.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }
    }

    /// <summary>A plaintext connection over loopback: connect, accept, abort and dispose both ends.</summary>
    [Benchmark(Baseline = true)]
    public async Task Connect_accept_abort()
    {
        var client = await _connector!.ConnectAsync(_listener!.LocalEndPoint);
        var server = await _listener.AcceptAsync() ?? throw new InvalidOperationException("The listener closed.");
        client.Abort("benchmark teardown");
        server.Abort("benchmark teardown");
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    /// <summary>What pooling would save per connection: creating and disposing a receiver and a sender.</summary>
    [Benchmark]
    public void Create_receiver_and_sender()
    {
        using var receiver = new SocketAwaitableEventArgs();
        using var sender = new SocketAwaitableEventArgs();
    }
}
