using System.Net;
using Broker.Transport.Configuration;
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
        if (options.ConfigFile is not null && options.BrokerConfig is not null)
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

        foreach (var (field, folder) in new[] { (nameof(options.BackendCertificateFolder), options.BackendCertificateFolder), (nameof(options.FrontendCertificateFolder), options.FrontendCertificateFolder) })
        {
            if (folder is not null && !Directory.Exists(folder))
            {
                failures.Add($"{field} is '{Path.GetFullPath(folder)}', which does not exist. It should be a mounted Kubernetes TLS Secret (tls.crt, tls.key, ca.crt).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
