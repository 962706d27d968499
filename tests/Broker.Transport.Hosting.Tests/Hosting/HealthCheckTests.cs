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
