using System.Buffers;
using System.Buffers.Binary;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>
/// Half-closing a TLS connection (close_notify, then FIN) while the peer's records keep arriving: the close
/// must reach the peer, and nothing may be lost or garbled. OpenSSL objects are not thread-safe, and
/// SslStream.ShutdownAsync drives OpenSSL outside the lock its reads decrypt under.
/// </summary>
public sealed class TlsHalfCloseTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_frontend_that_half_closes_while_the_backend_streams_to_it_loses_nothing_and_its_close_arrives()
    {
        const int Connections = 120;
        const int Lanes = 4;
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var client = Loopback.TlsClient(pki);

        var failures = new List<string>();
        var serving = new List<Task>();
        var server = Task.Run(
            async () =>
            {
                for (var i = 0; i < Connections; i++)
                {
                    var connection = await listener.AcceptAsync(ct) ?? throw new InvalidOperationException("The listener closed.");
                    serving.Add(ServeAsync(connection));
                }
            },
            ct);

        var lanes = Enumerable.Range(0, Lanes).Select(lane => Task.Run(
            async () =>
            {
                for (var i = lane; i < Connections; i += Lanes)
                {
                    if (await OneAsync(i) is { } problem)
                    {
                        lock (failures)
                        {
                            failures.Add(problem);
                        }
                    }
                }
            },
            ct)).ToArray();
        await Task.WhenAll(lanes).WaitAsync(TimeSpan.FromMinutes(2), ct);
        await server.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await Task.WhenAll(serving).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.True(failures.Count == 0, $"{failures.Count} of {Connections} connections failed; first: {failures.FirstOrDefault()}");

        // The backend streams numbered frames until the frontend's end arrives, then sends how many it sent, and ends too.
        async Task ServeAsync(TransportConnection connection)
        {
            await using var _ = connection;
            try
            {
                var ended = ReadToEndAsync(connection);
                var sent = 0;
                var frame = new byte[64];
                while (!ended.IsCompleted && sent < 20_000)
                {
                    BinaryPrimitives.WriteInt32BigEndian(frame, sent++);
                    await connection.Output.WriteFrameAsync(frame, CancellationToken.None);
                }

                if (!ended.IsCompleted && await Task.WhenAny(ended, Task.Delay(TimeSpan.FromSeconds(10), ct)) != ended)
                {
                    lock (failures)
                    {
                        failures.Add($"The backend ({connection}) sent {sent} frames and never saw the frontend's close.");
                    }
                }

                BinaryPrimitives.WriteInt32BigEndian(frame, -sent);
                await connection.Output.WriteFrameAsync(frame, CancellationToken.None);
                await connection.Output.CompleteAsync();
                await ended;
            }
            catch (TransportException)
            {
            }
        }

        static async Task ReadToEndAsync(TransportConnection connection)
        {
            var reader = connection.CreateFrameReader();
            while (await reader.ReadFrameAsync(CancellationToken.None))
            {
            }
        }

        // The frontend half-closes as soon as frames flow, and keeps reading them to the end.
        async Task<string?> OneAsync(int i)
        {
            try
            {
                await using var connection = await new TransportConnector(client).ConnectAsync(listener.LocalEndPoint, ct);
                var reader = connection.CreateFrameReader();
                var received = 0;
                while (await reader.ReadFrameAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct))
                {
                    var number = BinaryPrimitives.ReadInt32BigEndian(reader.Current.FirstSpan);
                    if (number < 0)
                    {
                        return -number == received ? null : $"connection {i}: the backend sent {-number} frames, {received} arrived";
                    }

                    if (number != received)
                    {
                        return $"connection {i}: frame {number} arrived where {received} was due";
                    }

                    if (++received == 3)
                    {
                        await connection.Output.CompleteAsync();
                    }
                }

                return $"connection {i}: the stream ended after {received} frames, before the backend's count";
            }
            catch (Exception ex) when (ex is TransportException or TimeoutException)
            {
                return $"connection {i}: {ex.GetType().Name}: {ex.Message}";
            }
        }
    }
}
