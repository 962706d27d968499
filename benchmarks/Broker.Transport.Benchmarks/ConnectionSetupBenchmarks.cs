using BenchmarkDotNet.Attributes;
using Broker.Transport.Connections;
using Broker.Transport.Sockets;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// What a connection costs to set up and tear down, next to what making the two
/// <see cref="SocketAwaitableEventArgs"/> a plaintext connection holds costs: they are pooled across connections
/// now (as Kestrel pools its SocketSender), which saved about 650 B per connection at churn (the <c>allocs
/// connections</c> probe, see the README). Steady-state traffic allocates nothing either way.
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
