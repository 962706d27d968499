using Broker.Transport.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Transport.Hosting;

/// <summary>Registers the transport in a Microsoft.Extensions host.</summary>
public static class BrokerTransportServiceCollectionExtensions
{
    /// <summary>The configuration section <see cref="AddBrokerTransport(IServiceCollection, IConfiguration)"/> reads by convention.</summary>
    public const string DefaultSectionName = "BrokerTransport";

    /// <summary>
    /// Registers the transport with options bound from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("BrokerTransport")</c>): its <c>Broker</c> subsection is the broker
    /// config inline, in the config file's shape; the other keys are <see cref="BrokerTransportOptions"/>' properties.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section to bind.</param>
    /// <returns>The options builder, to configure further.</returns>
    public static OptionsBuilder<BrokerTransportOptions> AddBrokerTransport(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddBrokerTransport(_ => { })
            .Bind(configuration)
            .Configure(options =>
            {
                var broker = configuration.GetSection("Broker");
                if (broker.Exists())
                {
                    options.BrokerConfig = ConfigurationJson.Write(broker);
                }
            });
    }

    /// <summary>
    /// Registers the transport: the options (validated at start, with the broker config parser's messages),
    /// a hosted service that loads the certificates (running the embedded issuer's renewals while the host
    /// runs) and binds the listener, the <see cref="TransportListener"/> (when <see cref="BrokerTransportOptions.Listen"/>
    /// is set) and the <see cref="TransportConnector"/> (unless <see cref="BrokerTransportOptions.Connector"/> is false)
    /// as singletons, the <c>Broker.Transport</c> meter, and the <c>broker-transport-certificates</c> health check.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options in code.</param>
    /// <returns>The options builder, to configure further.</returns>
    public static OptionsBuilder<BrokerTransportOptions> AddBrokerTransport(this IServiceCollection services, Action<BrokerTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrokerTransportOptions>, BrokerTransportOptionsValidator>());
        services.TryAddSingleton<BrokerTransportRuntime>();
        services.TryAddSingleton(sp => sp.GetRequiredService<BrokerTransportRuntime>().GetListener());
        services.TryAddSingleton(sp => sp.GetRequiredService<BrokerTransportRuntime>().GetConnector());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, BrokerTransportService>());
        if (!services.Any(d => d.ServiceType == typeof(BrokerTransportHealthCheck)))
        {
            services.AddSingleton<BrokerTransportHealthCheck>();
            services.AddHealthChecks().AddCheck<BrokerTransportHealthCheck>(BrokerTransportHealthCheck.Name, tags: ["broker-transport"]);
        }

        return services.AddOptions<BrokerTransportOptions>().Configure(configure).ValidateOnStart();
    }
}
