using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Hosting;

/// <summary>
/// Runs the transport with the host: at start it loads the certificates (starting the embedded issuer, whose
/// renewal and root rollover timers then run until the host stops) and binds the listener, so a bad folder or
/// a port in use stops the host from starting; at stop it closes the listener and stops the renewals.
/// </summary>
internal sealed class BrokerTransportService(BrokerTransportRuntime runtime, ILoggerFactory loggers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        runtime.Start();
        var listen = runtime.HasListener ? runtime.GetListener().LocalEndPoint.ToString() : "none";
        var encryption = runtime.Config.EncryptInternalTraffic.ToString();
        HostingLog.Create(loggers).Started(encryption, listen, runtime.HasConnector);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await runtime.DisposeAsync().ConfigureAwait(false);
}
