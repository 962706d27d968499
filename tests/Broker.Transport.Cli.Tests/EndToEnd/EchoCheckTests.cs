using System.Buffers;
using System.Net;
using Broker.Transport.Cli.Tests.Support;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.Tests.EndToEnd;

/// <summary>send's echo check can fail: against a real listener that echoes all but one byte, it exits 1 and says which byte.</summary>
public sealed class EchoCheckTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_byte_that_comes_back_changed_fails_send_with_exit_code_1_naming_the_message_and_the_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var listener = TransportListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new TransportListenerOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled });
        var server = CorruptingEchoAsync(listener, corruptAt: 100, ct);

        var send = await Tool.RunAsync("send", "--connect", $"127.0.0.1:{listener.LocalEndPoint.Port}", "--encrypt", "Disabled", "--messages", "10", "--size", "64");

        // Byte 100 of the stream is byte 36 of message 1 (messages are 64 bytes, counted from 0).
        Assert.True(send.ExitCode == 1, send.Transcript);
        Assert.Contains("error: connection 1 ", send.Errors, StringComparison.Ordinal);
        Assert.Contains("byte 36 of message 1 came back changed", send.Errors, StringComparison.Ordinal);
        Assert.StartsWith("FAILED", send.Value("echo check"), StringComparison.Ordinal);
        Assert.Equal(1, send.Number("errors"));
        await server.WaitAsync(Tool.Timeout, ct);
    }

    /// <summary>Echoes one connection's bytes raw, with the byte at <paramref name="corruptAt"/> inverted.</summary>
    private static async Task CorruptingEchoAsync(TransportListener listener, long corruptAt, CancellationToken ct)
    {
        await using var connection = await listener.AcceptAsync(ct) ?? throw new InvalidOperationException("listener closed");
        long position = 0;
        try
        {
            while (true)
            {
                var result = await connection.Input.ReadAsync(ct);
                foreach (var segment in result.Buffer)
                {
                    var bytes = segment.ToArray();
                    if (corruptAt >= position && corruptAt < position + bytes.Length)
                    {
                        bytes[corruptAt - position] ^= 0xFF;
                    }

                    position += bytes.Length;
                    connection.Output.Write(bytes);
                }

                connection.Input.AdvanceTo(result.Buffer.End);
                await connection.Output.FlushAsync(ct);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (TransportException)
        {
            // send resets the connection as soon as it sees the changed byte.
        }
    }
}
