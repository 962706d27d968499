using System.Net;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Microsoft.Extensions.Options;

namespace Broker.Transport.Hosting;

/// <summary>
/// Checks <see cref="BrokerTransportOptions"/> at start. The broker config is read by the config file's own
/// parser, so its errors carry the parser's messages (every error, each with its path); the other fields get
/// messages that name them.
/// </summary>
internal sealed class BrokerTransportOptionsValidator : IValidateOptions<BrokerTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerTransportOptions options)
    {
        var failures = new List<string>();

        // An empty value (BrokerTransport:ConfigFile= in configuration) is a mistake to name, not a path to resolve.
        if (options.ConfigFile is { } configFile && string.IsNullOrWhiteSpace(configFile))
        {
            failures.Add($"{nameof(options.ConfigFile)} is empty; it must name the broker config file, such as /etc/broker/broker.json (or be left out).");
        }
        else if (options.ConfigFile is not null && options.BrokerConfig is not null)
        {
            failures.Add($"{nameof(options.ConfigFile)} and the inline broker config ({nameof(options.BrokerConfig)}, the Broker section) are both set; give the broker config one way.");
        }
        else
        {
            try
            {
                BrokerTransportRuntime.ReadBrokerConfig(options);
            }
            catch (BrokerConfigException ex)
            {
                failures.Add(ex.Message);
            }
        }

        if (options.Listen is not null && !IPEndPoint.TryParse(options.Listen, out _))
        {
            failures.Add($"{nameof(options.Listen)} is '{options.Listen}'; it must be an address and a port, such as 0.0.0.0:5100 or [::]:5100.");
        }

        if (options.Listen is null && !options.Connector)
        {
            failures.Add($"Neither a listener ({nameof(options.Listen)}) nor a connector ({nameof(options.Connector)}) is asked for; set at least one.");
        }

        if (options.HandshakeTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(options.HandshakeTimeout)} is {options.HandshakeTimeout}; it must be positive.");
        }

        if (options.MaxConnectionAge != Timeout.InfiniteTimeSpan && options.MaxConnectionAge <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(options.MaxConnectionAge)} is {options.MaxConnectionAge}; it must be positive, or left out for no limit.");
        }

        if (options.DrainGrace < TimeSpan.Zero)
        {
            failures.Add($"{nameof(options.DrainGrace)} is {options.DrainGrace}; it must be zero or more.");
        }

        foreach (var (field, folder) in new[] { (nameof(options.BackendCertificateFolder), options.BackendCertificateFolder), (nameof(options.FrontendCertificateFolder), options.FrontendCertificateFolder) })
        {
            if (folder is not null && string.IsNullOrWhiteSpace(folder))
            {
                failures.Add($"{field} is empty; it must name a mounted Kubernetes TLS Secret (tls.crt, tls.key, ca.crt), or be left out for the embedded issuer.");
            }
            else if (folder is not null && !Directory.Exists(folder))
            {
                failures.Add($"{field} is '{Path.GetFullPath(folder)}', which does not exist. It should be a mounted Kubernetes TLS Secret (tls.crt, tls.key, ca.crt).");
            }
        }

        if (options.TrustBundlePath is { } bundle)
        {
            if (string.IsNullOrWhiteSpace(bundle))
            {
                failures.Add($"{nameof(options.TrustBundlePath)} is empty; it must name a PEM file of roots or a mounted ConfigMap's folder (or be left out, for each Secret folder's ca.crt).");
            }
            else if (!File.Exists(bundle) && !Directory.Exists(bundle))
            {
                failures.Add($"{nameof(options.TrustBundlePath)} is '{Path.GetFullPath(bundle)}', which does not exist. It should be a PEM file of roots, or the folder a ConfigMap with one (a trust-manager Bundle's target) is mounted at.");
            }
            else if (options.BackendCertificateFolder is null && options.FrontendCertificateFolder is null)
            {
                failures.Add($"{nameof(options.TrustBundlePath)} is set but no certificate folder is ({nameof(options.BackendCertificateFolder)}, {nameof(options.FrontendCertificateFolder)}): the embedded issuer keeps its own trust bundle. Set a folder, or leave {nameof(options.TrustBundlePath)} out.");
            }
        }

        if (options.RootHandover < TimeSpan.Zero)
        {
            failures.Add($"{nameof(options.RootHandover)} is {options.RootHandover}; it must be zero (switch at once) or positive.");
        }

        // The identities, read as the listener and connector read them (a lenient IP such as 127.1, a wildcard).
        Check(failures, () =>
        {
            var listener = new TransportListenerOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled };
            foreach (var identity in options.AllowedClientIdentities)
            {
                listener.AllowedClientIdentities.Add(identity);
            }

            listener.Validate();
        });
        Check(failures, () => new TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled, ServerIdentity = options.ServerIdentity }.Validate());

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException ex)
        {
            failures.Add(ex.Message);
        }
    }
}
