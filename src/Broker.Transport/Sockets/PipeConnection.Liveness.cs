using System.Net.Sockets;
using Broker.Transport.Connections;

namespace Broker.Transport.Sockets;

/// <summary>
/// Noticing a peer that vanished without a FIN or a reset (its pod deleted, its node gone, a partition): TCP
/// keep-alive on every connection, and an optional idle timeout for connections where the application
/// itself sends heartbeats.
/// </summary>
internal abstract partial class PipeConnection
{
    private TimeProvider _time = TimeProvider.System;
    private TimeSpan _idleTimeout = Timeout.InfiniteTimeSpan;
    private long _lastReceived;
    private ITimer? _idleTimer;

    /// <summary>Turns on TCP keep-alive as <paramref name="options"/> say; off when <see cref="SocketTransportOptions.KeepAliveTime"/> is infinite.</summary>
    private static void ApplyKeepAlive(Socket socket, SocketTransportOptions options)
    {
        if (options.KeepAliveTime == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)options.KeepAliveTime.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)options.KeepAliveInterval.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, options.KeepAliveRetryCount);
        }
        catch (SocketException)
        {
            // A socket the peer already reset: its receive loop reports that.
        }
    }

    private void InitializeLiveness(Socket socket, SocketTransportOptions options)
    {
        ApplyKeepAlive(socket, options);
        _time = options.TimeProvider;
        _idleTimeout = options.IdleTimeout;
    }

    /// <summary>Bytes arrived: the idle timer, if any, starts over from now.</summary>
    private void MarkReceived()
    {
        if (_idleTimer is not null)
        {
            Volatile.Write(ref _lastReceived, _time.GetTimestamp());
        }
    }

    private void StartIdleTimer()
    {
        if (_idleTimeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        Volatile.Write(ref _lastReceived, _time.GetTimestamp());
        _idleTimer = _time.CreateTimer(static state => ((PipeConnection)state!).CheckIdle(), this, _idleTimeout, Timeout.InfiniteTimeSpan);
    }

    private void CheckIdle()
    {
        var idle = _time.GetElapsedTime(Volatile.Read(ref _lastReceived));
        if (idle < _idleTimeout)
        {
            // Bytes arrived since the timer was set: look again when the timeout would run out.
            try
            {
                _idleTimer?.Change(_idleTimeout - idle, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
            }

            return;
        }

        Abort(new ConnectionAbortedException(
            $"Nothing arrived from the peer at {RemoteEndPoint} for {_idleTimeout.TotalSeconds:0.###} s (IdleTimeout): it is presumed gone, and the connection was aborted."));
    }

    private void StopIdleTimer() => _idleTimer?.Dispose();
}
