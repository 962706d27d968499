using Broker.Transport;
using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;

namespace TwoTierBroker.CommandLine;

/// <summary>
/// What <c>backend</c> and <c>frontend</c> read at start: the broker config file (<c>--config</c>; none means
/// Enabled, the default) and, when encrypting, the pod's mounted TLS Secret (<c>--cert-dir</c>), reloaded as
/// kubelet swaps it. Everything is checked here, once, with a message that names the flag.
/// </summary>
internal sealed class NodeSettings : IDisposable
{
    private NodeSettings(BrokerConfig config, SecretFolderCertificateSource? certificates, IReadOnlyList<string> warnings, ILoggerFactory loggerFactory)
    {
        Config = config;
        Certificates = certificates;
        Warnings = warnings;
        LoggerFactory = loggerFactory;
    }

    public BrokerConfig Config { get; }

    /// <summary>The Secret folder; null when encryption is Disabled.</summary>
    public SecretFolderCertificateSource? Certificates { get; }

    /// <summary>The config file's warnings, and flags that have no effect.</summary>
    public IReadOnlyList<string> Warnings { get; }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Reads <paramref name="configPath"/> and opens <paramref name="certDir"/>.</summary>
    /// <exception cref="UsageException">The file or the folder is missing or broken, or Enabled lacks <c>--cert-dir</c>.</exception>
    public static NodeSettings Resolve(string? configPath, string? certDir, TimeSpan? pollInterval, ILoggerFactory loggerFactory, string role)
    {
        var config = LoadConfig(configPath, out var warnings);
        if (config.EncryptInternalTraffic == EncryptInternalTraffic.Disabled)
        {
            if (certDir is not null)
            {
                warnings.Add($"--cert-dir '{certDir}' is not used: encryption is Disabled.");
            }

            return new NodeSettings(config, null, warnings, loggerFactory);
        }

        if (certDir is null)
        {
            throw new UsageException(
                $"Encryption is Enabled ({(configPath is null ? "the default" : $"the config file {configPath} says so")}) and no --cert-dir was given. "
                + $"The {role} needs a folder with tls.crt, tls.key and ca.crt: make one with 'dotnet run --project src/Broker.Transport.Cli -- certs issue --out DIR', "
                + "or give --config a file with \"encryptInternalTraffic\": \"Disabled\" (controlled test environments only).");
        }

        try
        {
            var source = SecretFolderCertificateSource.Open(certDir, new SecretFolderOptions { PollInterval = pollInterval ?? new SecretFolderOptions().PollInterval, Environment = new TransportEnvironment { LoggerFactory = loggerFactory } });
            return new NodeSettings(config, source, warnings, loggerFactory);
        }
        catch (CertificateLoadException ex)
        {
            throw new UsageException($"--cert-dir: {ex.Message}", ex);
        }
    }

    /// <summary>The broker config file's settings (the default when none is given); its warnings go to <paramref name="warnings"/>.</summary>
    /// <exception cref="UsageException">The file is missing, is not valid, or asks for what this machine cannot serve.</exception>
    public static BrokerConfig LoadConfig(string? configPath, out List<string> warnings)
    {
        warnings = [];
        if (configPath is null)
        {
            return BrokerConfig.Default;
        }

        try
        {
            var file = BrokerConfigFile.Load(configPath);
            file.Config.EnsureSupported();
            warnings.AddRange(file.Warnings.Select(w => $"{configPath}: {w}"));
            return file.Config;
        }
        catch (BrokerConfigException ex)
        {
            throw new UsageException($"--config: {ex.Message}", ex);
        }
    }

    public TransportListenerOptions ListenerOptions()
    {
        var options = new TransportListenerOptions { Certificates = Certificates, Environment = new TransportEnvironment { LoggerFactory = LoggerFactory } };
        Config.ApplyTo(options);
        return options;
    }

    public TransportConnectorOptions ConnectorOptions(string? serverIdentity)
    {
        var options = new TransportConnectorOptions { Certificates = Certificates, ServerIdentity = serverIdentity, Environment = new TransportEnvironment { LoggerFactory = LoggerFactory } };
        Config.ApplyTo(options);
        return options;
    }

    public void Dispose() => Certificates?.Dispose();
}

/// <summary>A usage or configuration error (exit code 2); the message names the flag or file.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public UsageException()
    {
    }
}
