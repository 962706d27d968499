using Broker.Transport.Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Transport.Hosting.Tests.Hosting;

/// <summary>The certificate health check of a started host, its clock faked: Healthy, Degraded, Unhealthy.</summary>
public class HealthCheckTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_Secret_folder_leaf_is_healthy_then_degraded_past_its_renewal_time_then_unhealthy_once_expired()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        var pki = TestPki.Create();
        var leaf = pki.Backend(); // Valid from 1 hour ago for 7 days.
        folder.Write(PemCredentials.CertificateFileName, PemFiles.Chain(leaf));
        folder.Write(PemCredentials.KeyFileName, PemFiles.Pkcs8Key(leaf.Certificate));
        folder.Write(PemCredentials.TrustBundleFileName, PemFiles.Bundle(leaf.TrustBundle));
        var clock = Issuers.ClockAtRealNow();
        using var host = HostedTransportTests.Build(
            new()
            {
                ["BrokerTransport:Listen"] = "127.0.0.1:0",
                ["BrokerTransport:Connector"] = "false",
                ["BrokerTransport:BackendCertificateFolder"] = folder.Path,
            },
            services => services.AddSingleton<TimeProvider>(clock));
        await host.StartAsync(ct);
        var notBefore = new DateTimeOffset(leaf.Certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(leaf.Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var renewal = InternalCertsConfig.Default.RenewalTime(notBefore, notAfter); // No renewBefore given: 2/3 of the lifetime.

        var healthy = await CheckAsync(host, ct);
        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Equal(leaf.Certificate.Thumbprint, healthy.Data["backend.leaf.thumbprint"]);
        Assert.Equal(renewal, healthy.Data["backend.leaf.renewal_time"]);

        clock.Advance(renewal - clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var degraded = await CheckAsync(host, ct);
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains($"is past its renewal time ({renewal:u}) without a successful renewal", degraded.Description, StringComparison.Ordinal);

        clock.Advance(notAfter - clock.GetUtcNow() + TimeSpan.FromSeconds(1));
        var expired = await CheckAsync(host, ct);
        Assert.Equal(HealthStatus.Unhealthy, expired.Status);
        Assert.Contains($"expired at {notAfter:u}", expired.Description, StringComparison.Ordinal);

        await host.StopAsync(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_root_handover_of_a_host_with_a_trust_bundle_is_degraded_with_the_time_it_ends_then_healthy()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        using var bundle = new TempFolder();
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        var leaf = r1.Backend();
        folder.Write(PemCredentials.CertificateFileName, PemFiles.Chain(leaf));
        folder.Write(PemCredentials.KeyFileName, PemFiles.Pkcs8Key(leaf.Certificate));
        bundle.Write("ca.crt", PemFiles.Bundle(r1.Bundle)); // no ca.crt in the Secret: the bundle is the trust
        var clock = Issuers.ClockAtRealNow();
        using var host = HostedTransportTests.Build(
            new()
            {
                ["BrokerTransport:Listen"] = "127.0.0.1:0",
                ["BrokerTransport:Connector"] = "false",
                ["BrokerTransport:BackendCertificateFolder"] = folder.Path,
                ["BrokerTransport:TrustBundlePath"] = bundle.Path,
                ["BrokerTransport:RootHandover"] = "00:01:00",
            },
            services => services.AddSingleton<TimeProvider>(clock));
        await host.StartAsync(ct);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host, ct)).Status);

        // An abrupt switch: the Secret's leaf and ca.crt from root 2, and the bundle (whose source is the CA) too.
        var next = r2.Backend();
        folder.Write(PemCredentials.CertificateFileName, PemFiles.Chain(next));
        folder.Write(PemCredentials.KeyFileName, PemFiles.Pkcs8Key(next.Certificate));
        folder.Write(PemCredentials.TrustBundleFileName, PemFiles.Bundle(r2.Bundle));
        bundle.Write("ca.crt", PemFiles.Bundle(r2.Bundle));
        clock.Advance(TimeSpan.FromSeconds(10)); // the poll
        var degraded = await WaitForAsync(host, HealthStatus.Degraded, ct);
        var switchAt = Assert.IsType<DateTimeOffset>(degraded.Data["backend.handover.switch_at"]);
        var endsAt = Assert.IsType<DateTimeOffset>(degraded.Data["backend.handover.ends_at"]);
        Assert.Equal(TimeSpan.FromMinutes(1), endsAt - switchAt);
        Assert.Equal(next.Certificate.Thumbprint, degraded.Data["backend.handover.pending.thumbprint"]);
        Assert.Contains($"A root handover is in progress until {endsAt:u}", degraded.Description, StringComparison.Ordinal);
        Assert.Contains("CN=Root 1", (string)degraded.Data["backend.handover.retiring_roots"], StringComparison.Ordinal);

        for (var step = 0; step < 13; step++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(10, ct); // each poll reads on the thread pool
        }

        var healthy = await WaitForAsync(host, HealthStatus.Healthy, ct);
        Assert.Equal(next.Certificate.Thumbprint, healthy.Data["backend.leaf.thumbprint"]);
        await host.StopAsync(ct);
    }

    private static async Task<HealthReportEntry> WaitForAsync(Microsoft.Extensions.Hosting.IHost host, HealthStatus status, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Guard.HangTimeout;
        while (true)
        {
            var entry = await CheckAsync(host, ct);
            if (entry.Status == status)
            {
                return entry;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The health check stayed {entry.Status} ({entry.Description}) instead of becoming {status}.");
            await Task.Delay(20, ct);
        }
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_embedded_issuer_is_healthy_while_it_runs_and_unhealthy_once_it_holds_no_certificate()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = Issuers.ClockAtRealNow();
        using var host = HostedTransportTests.Build(
            new() { ["BrokerTransport:Listen"] = "127.0.0.1:0" },
            services => services.AddSingleton<TimeProvider>(clock));

        Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(host, ct)).Status); // Not started: nothing loaded.
        await host.StartAsync(ct);
        var running = await CheckAsync(host, ct);
        Assert.Equal(HealthStatus.Healthy, running.Status);
        Assert.True(running.Data.ContainsKey("frontend.leaf.thumbprint"));

        // Far past the default leaves' renewal: the issuer renewed them on its own, so all stays healthy.
        for (var day = 0; day < 100; day++)
        {
            clock.Advance(TimeSpan.FromDays(1));
        }

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host, ct)).Status);

        await host.StopAsync(ct);
        var stopped = await CheckAsync(host, ct);
        Assert.Equal(HealthStatus.Unhealthy, stopped.Status);
        Assert.Contains("has no certificate loaded", stopped.Description, StringComparison.Ordinal);
    }

    private static async Task<HealthReportEntry> CheckAsync(Microsoft.Extensions.Hosting.IHost host, CancellationToken ct)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(ct);
        return report.Entries["broker-transport-certificates"];
    }
}
