using System.IO.Pipelines;
using System.Security.Cryptography;
using Broker.Transport.Tests.Support;

namespace Broker.Transport.Tests.Security;

/// <summary>Bulk data over mutual TLS: both directions at once, every byte checked.</summary>
public class LargeTransferTests
{
    private const long Size = 64L * 1024 * 1024;

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Sixty_four_MiB_each_way_at_once_arrive_intact_over_TLS()
    {
        var ct = TestContext.Current.CancellationToken;
        var pki = TestPki.Create();
        await using var listener = Loopback.ListenTls(pki);
        var (client, server) = await Loopback.ConnectAsync(listener, Loopback.TlsClient(pki), ct);
        await using var _ = client;
        await using var __ = server;

        var up = SendAsync(client.Output, ct);
        var down = SendAsync(server.Output, ct);
        var atServer = ReceiveAsync(server.Input, ct);
        var atClient = ReceiveAsync(client.Input, ct);
        await Task.WhenAll(up, down, atServer, atClient).WaitAsync(TimeSpan.FromMinutes(3), ct);

        Assert.Equal(Size, (await atServer).Length);
        Assert.Equal(Size, (await atClient).Length);
        Assert.Equal(Convert.ToHexString(await up), Convert.ToHexString((await atServer).Hash));
        Assert.Equal(Convert.ToHexString(await down), Convert.ToHexString((await atClient).Hash));
    }

    /// <summary>Writes <see cref="Size"/> random bytes in flushes of random sizes (up to 256 KiB), then completes; returns their SHA-256.</summary>
    private static async Task<byte[]> SendAsync(PipeWriter output, CancellationToken ct)
    {
        await Task.Yield();
        var random = new Random();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long sent = 0;
        while (sent < Size)
        {
            var size = (int)Math.Min(random.Next(1, 256 * 1024), Size - sent);
            var span = output.GetSpan(size)[..size];
            random.NextBytes(span);
            hash.AppendData(span);
            output.Advance(size);
            var flush = await output.FlushAsync(ct);
            Assert.False(flush.IsCompleted, $"The reader stopped after {sent} bytes.");
            sent += size;
        }

        await output.CompleteAsync();
        return hash.GetHashAndReset();
    }

    /// <summary>Reads until the peer completes; returns the byte count and their SHA-256.</summary>
    private static async Task<(long Length, byte[] Hash)> ReceiveAsync(PipeReader input, CancellationToken ct)
    {
        await Task.Yield();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        while (true)
        {
            var result = await input.ReadAsync(ct);
            foreach (var segment in result.Buffer)
            {
                hash.AppendData(segment.Span);
                received += segment.Length;
            }

            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return (received, hash.GetHashAndReset());
            }
        }
    }
}
