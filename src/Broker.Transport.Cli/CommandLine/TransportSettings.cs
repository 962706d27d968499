using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Cli.CommandLine;

/// <summary>
/// What <c>serve</c> and <c>send</c> share: whether to encrypt (a flag wins over the config file, which wins
/// over the default, Enabled) and, when encrypting, the certificates of <c>--cert-dir</c>, read as a mounted
/// Secret and reloaded as it changes.
/// </summary>
internal sealed class TransportSettings : IDisposable
{
    /// <summary>The library's default poll interval is kubelet's pace; a person trying the tool sees the same.</summary>
    private static readonly TimeSpan DefaultPollInterval = new SecretFolderOptions().PollInterval;

    /// <summary>The library's default root handover (kubelet's spread between pods); the tool gives the same.</summary>
    private static readonly TimeSpan DefaultRootHandover = new SecretFolderOptions().RootHandover;

    private TransportSettings(EncryptInternalTraffic encrypt, SecretFolderCertificateSource? certificates, IReadOnlyList<string> warnings)
    {
        Encrypt = encrypt;
        Certificates = certificates;
        Warnings = warnings;
    }

    public EncryptInternalTraffic Encrypt { get; }

    /// <summary>The Secret folder source; null when encryption is Disabled.</summary>
    public SecretFolderCertificateSource? Certificates { get; }

    /// <summary>What deserves a line on stderr at start: the config file's warnings, flags that have no effect.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Reads the config file and opens the certificate folder.</summary>
    /// <exception cref="UsageException">The config file or the certificate folder is missing or broken, or Enabled lacks <c>--cert-dir</c>.</exception>
    public static TransportSettings Resolve(
        EncryptInternalTraffic? encryptFlag, string? configPath, string? certDir, TimeSpan? pollInterval, ILoggerFactory? loggerFactory, string command,
        string? trustBundle = null, TimeSpan? rootHandover = null)
    {
        var warnings = new List<string>();
        BrokerConfigFile? file = null;
        if (configPath is not null)
        {
            try
            {
                file = BrokerConfigFile.Load(configPath);
            }
            catch (BrokerConfigException ex)
            {
                throw new UsageException($"--config: {ex.Message}", ex);
            }

            warnings.AddRange(file.Warnings.Select(w => $"{file.Path}: {w}"));
        }

        var encrypt = encryptFlag ?? file?.Config.EncryptInternalTraffic ?? EncryptInternalTraffic.Enabled;
        if (encryptFlag == EncryptInternalTraffic.Disabled && file?.Config.EncryptInternalTraffic != EncryptInternalTraffic.Disabled)
        {
            // The same warning a config file that says Disabled gets (the file's own, when it says so, is above).
            warnings.Add("--encrypt is Disabled: internal traffic between frontend and backend travels in plaintext. Keep it Enabled outside controlled, non-production test environments.");
        }

        if (encrypt == EncryptInternalTraffic.Disabled)
        {
            if (certDir is not null)
            {
                warnings.Add($"--cert-dir '{certDir}' is not used: encryption is Disabled.");
            }

            if (trustBundle is not null)
            {
                warnings.Add($"--trust-bundle '{trustBundle}' is not used: encryption is Disabled.");
            }

            return new TransportSettings(encrypt, null, warnings);
        }

        if (certDir is null)
        {
            var source = encryptFlag is null && file is not null ? $"the config file {file.Path} says Enabled" : encryptFlag is null ? "the default" : "--encrypt Enabled";
            throw new UsageException(
                $"Encryption is Enabled ({source}) and no --cert-dir was given. {command} needs a folder with tls.crt, tls.key and ca.crt: "
                + "make one with 'broker-transport certs issue --out DIR', or use --encrypt Disabled (plaintext, for controlled test environments only).");
        }

        try
        {
            var certificates = SecretFolderCertificateSource.Open(certDir, new SecretFolderOptions
            {
                PollInterval = pollInterval ?? DefaultPollInterval,
                TrustBundlePath = trustBundle,
                RootHandover = rootHandover ?? DefaultRootHandover,
                Environment = new TransportEnvironment { LoggerFactory = loggerFactory },
            });
            return new TransportSettings(encrypt, certificates, warnings);
        }
        catch (CertificateLoadException ex)
        {
            // The message names the file: a trust bundle's is under --trust-bundle's path.
            var flag = trustBundle is not null
                && ex.Message.Contains(Path.GetFullPath(trustBundle), StringComparison.Ordinal)
                && !ex.Message.Contains(Path.GetFullPath(certDir), StringComparison.Ordinal) ? "--trust-bundle" : "--cert-dir";
            throw new UsageException($"{flag}: {ex.Message}", ex);
        }
    }

    public void Dispose() => Certificates?.Dispose();
}
