using System.Net.Sockets;

namespace Broker.Transport.Sockets;

/// <summary>Linger 0: the one way the transport turns a socket's coming close into a reset (RST).</summary>
internal static class SocketReset
{
    /// <summary>
    /// Sets linger 0 on <paramref name="socket"/>, so that closing it sends a reset rather than a FIN and the peer
    /// learns at once. A socket already closed or refused by the OS is left as it is: the close follows anyway.
    /// </summary>
    public static void OnClose(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
    }
}
