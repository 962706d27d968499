using Broker.Transport.Diagnostics;
using Broker.Transport.Security;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Broker.Transport.Hosting;

/// <summary>
/// The certificates' health: Healthy while every side's certificate is valid and not yet due for renewal;
/// Degraded when one is past its renewal time without a successful renewal (the renewals are failing, but
/// handshakes still work), or a certificate folder is in a root handover (with the time it ends); Unhealthy when
/// one has expired, its root has, or a side has none loaded.
/// </summary>
internal sealed class BrokerTransportHealthCheck(BrokerTransportRuntime runtime) : IHealthCheck
{
    /// <summary>The name the check is registered under.</summary>
    public const string Name = "broker-transport-certificates";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (runtime.Config.EncryptInternalTraffic == EncryptInternalTraffic.Disabled)
        {
            return Task.FromResult(HealthCheckResult.Healthy("encryptInternalTraffic is Disabled: no certificates are used."));
        }

        var sources = runtime.Sources;
        if (sources.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("No certificate is loaded yet: the transport has not started."));
        }

        var now = runtime.Time.GetUtcNow();
        var statuses = sources.Select(s => CertificateHealth.Check(s.Side, s.Source, runtime.Config.InternalCerts, now)).ToList();
        var worst = statuses.Max(s => s.State);
        var description = string.Join(" ", statuses.Where(s => s.State == worst).Select(s => s.Description));
        var data = statuses.SelectMany(s => s.Data).ToDictionary(kv => kv.Key, kv => kv.Value);
        var status = worst switch
        {
            CertificateState.Healthy => HealthStatus.Healthy,
            CertificateState.Degraded => HealthStatus.Degraded,
            _ => context.Registration?.FailureStatus ?? HealthStatus.Unhealthy,
        };
        return Task.FromResult(new HealthCheckResult(status, description, data: data));
    }
}
