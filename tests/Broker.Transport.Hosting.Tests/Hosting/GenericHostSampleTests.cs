using System.Net;
using System.Text;
using System.Threading.Channels;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broker.Transport.Hosting.Tests.Hosting;

/// <summary>
/// The README's generic-host sample, run: a backend host whose BackgroundService accepts connections and reads
/// frames, a frontend host whose BackgroundService connects and sends them; each side reads its certificates
/// from a Secret folder, as on Kubernetes, made here from the test's PKI.
/// </summary>
public class GenericHostSampleTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_backend_host_and_a_frontend_host_exchange_frames_over_mutual_TLS()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folders = new TempFolder();
        var pki = TestPki.Create();
        var backendFolder = WriteSecret(folders, "backend", pki.Backend());
        var frontendFolder = WriteSecret(folders, "frontend", pki.Frontend());
        var received = Channel.CreateUnbounded<string>();

        using var backendHost = BuildHost(
            new()
            {
                ["BrokerTransport:Listen"] = "127.0.0.1:0",
                ["BrokerTransport:Connector"] = "false",
                ["BrokerTransport:BackendCertificateFolder"] = backendFolder,
                ["BrokerTransport:AllowedClientIdentities:0"] = "frontend",
            },
            services => services.AddSingleton(received.Writer).AddHostedService<Backend>());
        await backendHost.StartAsync(ct);
        var endpoint = backendHost.Services.GetRequiredService<TransportListener>().LocalEndPoint;

        using var frontendHost = BuildHost(
            new()
            {
                ["BrokerTransport:FrontendCertificateFolder"] = frontendFolder,
                ["BrokerTransport:ServerIdentity"] = "localhost",
                ["Backend"] = endpoint.ToString(),
            },
            services => services.AddHostedService<Frontend>());
        await frontendHost.StartAsync(ct);

        string[] expected = ["plant-7/line-3/press-1/temperature", "plant-7/line-3/press-2/temperature", "plant-7/line-3/press-3/temperature"];
        foreach (var topic in expected)
        {
            Assert.Equal(topic, await received.Reader.ReadAsync(ct).AsTask().Guarded(ct));
        }

        await frontendHost.StopAsync(ct);
        await backendHost.StopAsync(ct);
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IServiceCollection> services)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddBrokerTransport(builder.Configuration.GetSection("BrokerTransport"));
        services(builder.Services);
        return builder.Build();
    }

    private static string WriteSecret(TempFolder folders, string name, Certificates.CertificateCredentials credentials)
    {
        var folder = Directory.CreateDirectory(folders.File(name)).FullName;
        File.WriteAllText(Path.Combine(folder, "tls.crt"), PemFiles.Chain(credentials));
        File.WriteAllText(Path.Combine(folder, "tls.key"), PemFiles.Pkcs8Key(credentials.Certificate));
        File.WriteAllText(Path.Combine(folder, "ca.crt"), PemFiles.Bundle(credentials.TrustBundle));
        return folder;
    }

    /// <summary>The sample's backend: one task per connection, each reading frames until the frontend ends.</summary>
    private sealed class Backend(TransportListener listener, ChannelWriter<string> received) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            // AcceptAsync returns null once the host stops and the listener closes.
            while (await listener.AcceptAsync(stoppingToken) is { } connection)
            {
                _ = ServeAsync(connection, stoppingToken);
            }
        }

        private async Task ServeAsync(TransportConnection connection, CancellationToken stoppingToken)
        {
            await using (connection)
            {
                var frames = connection.CreateFrameReader();
                while (await frames.ReadFrameAsync(stoppingToken))
                {
                    await received.WriteAsync(Encoding.UTF8.GetString(frames.Current), stoppingToken);
                }
            }
        }
    }

    /// <summary>The sample's frontend: connects to the backend named in configuration and sends three frames.</summary>
    private sealed class Frontend(TransportConnector connector, IConfiguration configuration) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await using var connection = await connector.ConnectAsync(IPEndPoint.Parse(configuration["Backend"]!), stoppingToken);
            for (var press = 1; press <= 3; press++)
            {
                await connection.Output.WriteFrameAsync(Encoding.UTF8.GetBytes($"plant-7/line-3/press-{press}/temperature"), stoppingToken);
            }

            await connection.Output.CompleteAsync();
            await connection.ConnectionClosed.WhenCanceled().WaitAsync(stoppingToken);
        }
    }
}
