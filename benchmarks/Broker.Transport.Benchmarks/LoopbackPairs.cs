using System.Net;
using System.Net.Sockets;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Security;

namespace Broker.Transport.Benchmarks;

/// <summary>Real TCP connections over 127.0.0.1 (port 0), with a receiver draining one end in the background.</summary>
internal static class LoopbackPairs
{
    /// <summary>A plain socket pair: the baseline any transport is measured against.</summary>
    public static async Task<(Socket Client, Socket Server)> ConnectSocketsAsync()
    {
        using var listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listen.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listen.AcceptAsync();
        await client.ConnectAsync(listen.LocalEndPoint!);
        var server = await accepting;
        server.NoDelay = true;
        return (client, server);
    }

    /// <summary>A plaintext listener on 127.0.0.1, port 0; every other option at its default.</summary>
    public static TransportListener ListenPlaintext()
        => TransportListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new TransportListenerOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled });

    /// <summary>A plaintext connector; every other option at its default.</summary>
    public static TransportConnector PlaintextConnector()
        => new(new TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled });

    /// <summary>A connector's connection and the listener's matching one: plaintext, every other option at its default.</summary>
    public static async Task<(TransportListener Listener, TransportConnection Client, TransportConnection Server)> ConnectTransportAsync()
    {
        var listener = ListenPlaintext();
        var client = await PlaintextConnector().ConnectAsync(listener.LocalEndPoint);
        var server = await listener.AcceptAsync() ?? throw new InvalidOperationException("The listener closed before it accepted.");
        return (listener, client, server);
    }

    /// <summary>Reads the socket until the peer half-closes, counting bytes; one buffer, no allocation per read.</summary>
    public static async Task DrainSocketAsync(Socket socket, ReceiveProgress progress, int bufferSize)
    {
        // As Memory: the ArraySegment overload would return a Task<int>, allocating on every pending read.
        var buffer = new byte[bufferSize];
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
                if (received == 0)
                {
                    return;
                }

                progress.Add(received);
            }
        }
        catch (Exception ex)
        {
            progress.Fail(ex);
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> frames through <paramref name="connection"/>, cycling through
    /// <paramref name="frames"/> (all of one size), one flush per frame, and returns once the receiver behind
    /// <paramref name="progress"/> has counted every byte.
    /// </summary>
    public static async ValueTask SendFramesFlushEachAsync(TransportConnection connection, ReceiveProgress progress, byte[][] frames, int count)
    {
        var received = progress.Expect((long)count * frames[0].Length);
        var output = connection.Output;
        for (var i = 0; i < count; i++)
        {
            output.WriteFrame(frames[i % frames.Length]);
            await output.FlushAsync();
        }

        await received;
    }

    /// <summary>Reads frames until the peer half-closes, counting payload bytes, as a broker's reader would.</summary>
    public static async Task DrainFramesAsync(TransportConnection connection, ReceiveProgress progress, int maxFrameSize)
    {
        var frames = connection.CreateFrameReader(maxFrameSize);
        try
        {
            while (await frames.ReadFrameAsync())
            {
                progress.Add(frames.Current.Length);
            }
        }
        catch (Exception ex)
        {
            progress.Fail(ex);
            throw;
        }
    }
}
