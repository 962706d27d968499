using System.Globalization;
using TwoTierBroker.Tests.Support;

namespace TwoTierBroker.Tests.Processes;

/// <summary>
/// The sample as processes, with Debian's mosquitto clients (a C MQTT client, not ours): <c>all</c> on one
/// machine, and separate <c>backend</c> and <c>frontend</c> processes with their Secret folders, a backend
/// killed (SIGKILL) and started again mid-stream, certificates rotated by <c>certs rotate</c> during traffic,
/// and a frontend whose encryption disagrees with its backends'.
/// </summary>
public class MosquittoTests
{
    [Theory(Timeout = TestTimeouts.Hang)]
    [InlineData("Enabled")]
    [InlineData("Disabled")]
    public async Task All_carries_mosquitto_pub_on_frontend_A_to_mosquitto_sub_on_frontend_B(string mode)
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder["broker.json"], "{\"advanced\": {\"encryptInternalTraffic\": \"" + mode + "\"}}");
        var (all, ports) = await SampleProcesses.StartAsync(4, "all", "--mqtt", "127.0.0.1:0", "--config", folder["broker.json"]);
        await using var _ = all;
        Assert.Matches(@"^listening on 127\.0\.0\.1:\d+\nlistening on 127\.0\.0\.1:\d+\nmqtt listening on 127\.0\.0\.1:\d+\nmqtt listening on 127\.0\.0\.1:\d+\n", all.Output);
        var (a, b) = (ports[2], ports[3]);
        await using var sub = await SampleProcesses.SubscribeAsync(b, "plant/#", 1);
        var topics = Topics.OwnedBy(0, 2, 3, "plant/line-", "/temperature").Concat(Topics.OwnedBy(1, 2, 3, "plant/line-", "/temperature")).ToList();
        for (var i = 0; i < topics.Count; i++)
        {
            var (code, transcript) = await SampleProcesses.PublishAsync(a, topics[i], $"{{\"seq\":{i},\"mode\":\"{mode}\"}}", i % 2, i % 3 == 0 ? ["-V", "mqttv5"] : []);
            Assert.True(code == 0, transcript);
        }

        var expected = topics.Select((t, i) => $"{t} {{\"seq\":{i},\"mode\":\"{mode}\"}}").ToList();
        await WaitAsync(() => SampleProcesses.Messages(sub, "plant/").Count >= expected.Count, () => sub.Transcript + all.Transcript);
        Assert.Equal(expected.Order(StringComparer.Ordinal), SampleProcesses.Messages(sub, "plant/").Order(StringComparer.Ordinal));
        Assert.Contains(mode == "Enabled" ? "Tls13" : "plaintext", all.Errors, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Separate_pods_keep_every_QoS1_message_across_a_backend_killed_mid_stream()
    {
        using var pki = await Pki.IssueAsync();
        var (b0, p0) = await SampleProcesses.StartAsync(1, "backend", "--listen", "127.0.0.1:0", "--cert-dir", pki.Backend, "--name", "b0");
        var (b1, p1) = await SampleProcesses.StartAsync(1, "backend", "--listen", "127.0.0.1:0", "--cert-dir", pki.Backend, "--name", "b1");
        await using var backend1 = b1;
        var backend0 = b0;
        try
        {
            var backends = $"127.0.0.1:{p0[0]},127.0.0.1:{p1[0]}";
            var (fa, pa) = await SampleProcesses.StartAsync(1, "frontend", "--mqtt", "127.0.0.1:0", "--backends", backends, "--cert-dir", pki.Frontend, "--name", "fa");
            await using var frontendA = fa;
            var (fb, pb) = await SampleProcesses.StartAsync(1, "frontend", "--mqtt", "127.0.0.1:0", "--backends", backends, "--cert-dir", pki.Frontend, "--name", "fb");
            await using var frontendB = fb;
            await WaitAsync(() => CountOf(fa.Errors, "linked to backend") >= 2 && CountOf(fb.Errors, "linked to backend") >= 2, () => fa.Transcript + fb.Transcript);
            await using var sub = await SampleProcesses.SubscribeAsync(pb[0], "stream/#", 1);

            // One topic owned by the backend about to die; mosquitto_pub -l sends a message per line of stdin.
            var topic = Topics.OwnedBy(0, 2, 1, "stream/")[0];
            await using var pub = SampleProcesses.Mosquitto("mosquitto_pub", "-h", "127.0.0.1", "-p", pa[0].ToString(CultureInfo.InvariantCulture), "-i", "stream-pub", "-t", topic, "-q", "1", "-l");
            const int count = 300;
            for (var i = 0; i < count; i++)
            {
                await pub.Input.WriteLineAsync($"message {i:D4} " + new string((char)('a' + (i % 26)), 64));
                await pub.Input.FlushAsync(TestContext.Current.CancellationToken);
                if (i == count / 3)
                {
                    // SIGKILL: no goodbye, whatever the backend had not sent is gone; then the same port again.
                    await backend0.DisposeAsync();
                    await Task.Delay(300, TestContext.Current.CancellationToken);
                    (backend0, _) = await SampleProcesses.StartAsync(1, "backend", "--listen", $"127.0.0.1:{p0[0]}", "--cert-dir", pki.Backend, "--name", "b0-again");
                }

                await Task.Delay(5, TestContext.Current.CancellationToken);
            }

            pub.Input.Close();
            Assert.Equal(0, await pub.WaitForExitAsync(SampleProcesses.Timeout));
            var expected = Enumerable.Range(0, count).Select(i => $"{topic} message {i:D4} " + new string((char)('a' + (i % 26)), 64)).ToHashSet();
            await WaitAsync(() => expected.IsSubsetOf(SampleProcesses.Messages(sub, topic)), () => $"missing: {string.Join(", ", expected.Except(SampleProcesses.Messages(sub, topic)).Take(5))}\n{fa.Transcript}\n{backend0.Transcript}");
            Assert.All(SampleProcesses.Messages(sub, topic), line => Assert.Contains(line, expected));
            Assert.Contains("re-sent", fa.Errors, StringComparison.Ordinal);
        }
        finally
        {
            await backend0.DisposeAsync();
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_Disabled_frontend_against_an_Enabled_backend_logs_the_mismatch_and_mosquitto_is_refused()
    {
        using var pki = await Pki.IssueAsync();
        File.WriteAllText(pki.Temp["disabled.json"], """{"advanced": {"encryptInternalTraffic": "Disabled"}}""");
        var (backend, bp) = await SampleProcesses.StartAsync(1, "backend", "--listen", "127.0.0.1:0", "--cert-dir", pki.Backend);
        await using var _ = backend;
        var (frontend, fp) = await SampleProcesses.StartAsync(1, "frontend", "--mqtt", "127.0.0.1:0", "--backends", $"127.0.0.1:{bp[0]}", "--config", pki.Temp["disabled.json"]);
        await using var __ = frontend;

        var line = await frontend.WaitForLineAsync("refused by the transport \\(EncryptionMismatchException\\): (.+) Retrying", SampleProcesses.Timeout);
        Assert.Contains("TLS", line.Groups[1].Value, StringComparison.Ordinal);
        await backend.WaitForLineAsync("PlaintextPeer", SampleProcesses.Timeout);

        var (code, transcript) = await SampleProcesses.PublishAsync(fp[0], "plant/line-1/temperature", "never delivered", 1);
        Assert.NotEqual(0, code);
        Assert.Contains("Connection Refused: broker unavailable", transcript, StringComparison.Ordinal);
        var (code5, transcript5) = await SampleProcesses.PublishAsync(fp[0], "plant/line-1/temperature", "never delivered", 1, "-V", "mqttv5");
        Assert.NotEqual(0, code5);
        Assert.Contains("Server unavailable", transcript5, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("serves frontend", backend.Errors, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Leaves_rotated_by_certs_rotate_during_traffic_lose_no_message_and_reach_new_links()
    {
        using var pki = await Pki.IssueAsync();
        var firstBackendLeaf = Pki.Sha256(Pki.Leaf(pki.Backend));
        var (b0, p0) = await SampleProcesses.StartAsync(1, "backend", "--listen", "127.0.0.1:0", "--cert-dir", pki.Backend, "--cert-poll-interval", "500ms");
        var backend = b0;
        try
        {
            var (fa, pa) = await SampleProcesses.StartAsync(1, "frontend", "--mqtt", "127.0.0.1:0", "--backends", $"127.0.0.1:{p0[0]}", "--cert-dir", pki.Frontend, "--cert-poll-interval", "500ms");
            await using var frontend = fa;
            await frontend.WaitForLineAsync($"peer SHA-256 {firstBackendLeaf}", SampleProcesses.Timeout);
            await using var sub = await SampleProcesses.SubscribeAsync(pa[0], "rot/#", 1);
            await using var pub = SampleProcesses.Mosquitto("mosquitto_pub", "-h", "127.0.0.1", "-p", pa[0].ToString(CultureInfo.InvariantCulture), "-i", "rot-pub", "-t", "rot/a", "-q", "1", "-l");
            const int count = 300;
            for (var i = 0; i < count; i++)
            {
                await pub.Input.WriteLineAsync($"m{i:D4}");
                await pub.Input.FlushAsync(TestContext.Current.CancellationToken);
                if (i == 100)
                {
                    var rotate = await Tool.RunAsync("certs", "rotate", "--dir", pki.Dir);
                    Assert.True(rotate.ExitCode == 0, rotate.Transcript);
                }

                if (i == 200)
                {
                    // Both sides reloaded (open links keep their certificates); a restarted backend makes the
                    // frontend hand-shake again, and the new link shows the backend's new leaf.
                    await backend.WaitForLineAsync("reloaded|CertificateReloaded|\\[110\\]", SampleProcesses.Timeout);
                    await frontend.WaitForLineAsync("reloaded|CertificateReloaded|\\[110\\]", SampleProcesses.Timeout);
                    await backend.DisposeAsync();
                    (backend, _) = await SampleProcesses.StartAsync(1, "backend", "--listen", $"127.0.0.1:{p0[0]}", "--cert-dir", pki.Backend, "--cert-poll-interval", "500ms");
                }

                await Task.Delay(5, TestContext.Current.CancellationToken);
            }

            pub.Input.Close();
            Assert.Equal(0, await pub.WaitForExitAsync(SampleProcesses.Timeout));
            var newBackendLeaf = Pki.Sha256(Pki.Leaf(pki.Backend));
            Assert.NotEqual(firstBackendLeaf, newBackendLeaf);
            await frontend.WaitForLineAsync($"peer SHA-256 {newBackendLeaf}", SampleProcesses.Timeout);
            var expected = Enumerable.Range(0, count).Select(i => $"rot/a m{i:D4}").ToHashSet();
            await WaitAsync(() => expected.IsSubsetOf(SampleProcesses.Messages(sub, "rot/")), () => $"missing: {string.Join(", ", expected.Except(SampleProcesses.Messages(sub, "rot/")).Take(5))}\n{frontend.Transcript}");
        }
        finally
        {
            await backend.DisposeAsync();
        }
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, string.Empty, StringComparison.Ordinal).Length) / part.Length;

    private static async Task WaitAsync(Func<bool> done, Func<string> transcript)
    {
        var deadline = DateTime.UtcNow + SampleProcesses.Timeout;
        while (!done())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not done within {SampleProcesses.Timeout.TotalSeconds} s.\n{transcript()}");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
