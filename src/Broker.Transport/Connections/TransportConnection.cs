using System.IO.Pipelines;
using System.Net;
using Broker.Transport.Diagnostics;
using Broker.Transport.Security;
using Broker.Transport.Sockets;

namespace Broker.Transport.Connections;

/// <summary>
/// One connection between a frontend and a backend, as a pair of pipes. Code above it reads
/// <see cref="Input"/> and writes <see cref="Output"/>; it never sees the socket or the TLS stream beneath.
/// </summary>
/// <remarks>
/// Completing <see cref="Output"/> sends what is queued and then half-closes, so the peer's
/// <see cref="Input"/> completes after the last byte. A peer reset makes reads and flushes fail with
/// <see cref="ConnectionResetException"/>; <see cref="Abort"/> makes them fail with
/// <see cref="ConnectionAbortedException"/> here and resets the peer.
/// </remarks>
public sealed partial class TransportConnection : IDuplexPipe, IAsyncDisposable, IObservedConnection
{
    private static long s_nextId;
    private readonly PipeConnection _transport;

    internal TransportConnection(PipeConnection transport, ConnectionSecurityInfo security)
    {
        _transport = transport;
        Security = security;
        ConnectionId = Interlocked.Increment(ref s_nextId).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A short id, unique in this process, for logs.</summary>
    public string ConnectionId { get; }

    /// <summary>The bytes (or, with framing, the frames) the peer sends.</summary>
    public PipeReader Input => _transport.Input;

    /// <summary>Where the application writes what the peer should receive; bytes leave on <c>FlushAsync</c>.</summary>
    public PipeWriter Output => _transport.Output;

    /// <summary>What the connection negotiated: encrypted or not, the TLS version and cipher suite, the peer's certificate.</summary>
    public ConnectionSecurityInfo Security { get; }

    /// <summary>This side's address.</summary>
    public EndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>The peer's address.</summary>
    public EndPoint RemoteEndPoint => _transport.RemoteEndPoint;

    /// <summary>Fires once the connection is finished in both directions: closed, reset or aborted.</summary>
    public CancellationToken ConnectionClosed => _transport.Closed;

    /// <summary>
    /// Ends the connection at once. The peer sees a reset; reads and flushes here fail with a
    /// <see cref="ConnectionAbortedException"/> whose message is <paramref name="reason"/>. Unsent bytes are dropped.
    /// </summary>
    /// <param name="reason">Why, in words a log reader understands.</param>
    public void Abort(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        _transport.Abort(new ConnectionAbortedException(reason));
    }

    /// <summary>
    /// Closes gracefully: what was flushed reaches the peer, then the connection closes. Waits at most
    /// <see cref="SocketTransportOptions.CloseTimeout"/> for a peer that does not read, then aborts.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>"backend" or "frontend": the side that made this connection, for its measurements.</summary>
    internal string Side { get; set; } = string.Empty;

    /// <summary>The timestamp (of the side's <see cref="TimeProvider"/>) when the connection was handed out.</summary>
    internal long OpenedAt { get; set; }

    internal long BytesSent => _transport.BytesSent;

    internal long BytesReceived => _transport.BytesReceived;

    internal Exception? InputError => _transport.InputError;

    string IObservedConnection.Side => Side;

    long IObservedConnection.BytesSent => BytesSent;

    long IObservedConnection.BytesReceived => BytesReceived;

    /// <inheritdoc />
    public override string ToString() => $"{ConnectionId} {LocalEndPoint} <-> {RemoteEndPoint}";
}
