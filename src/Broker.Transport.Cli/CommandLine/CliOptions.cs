using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Broker.Transport.Configuration;
using Broker.Transport.Security;

namespace Broker.Transport.Cli.CommandLine;

/// <summary>The options several commands share, each with its parser, so that a bad value is a parse error (exit code 2) that names the flag.</summary>
internal static class CliOptions
{
    public static Option<HostPort> Endpoint(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "HOST:PORT",
        Required = true,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (HostPort.TryParse(text, out var value, out var error))
            {
                return value;
            }

            result.AddError($"{name}: {error}");
            return default;
        },
    };

    /// <summary>
    /// Checks each value of <paramref name="option"/> is a peer identity (a DNS name, an IP address in canonical form,
    /// or a URI), as the library reads it: a bad one is a parse error that names the flag.
    /// </summary>
    public static T Identities<T>(this T option)
        where T : Option
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (!PeerIdentity.TryParse(token.Value, out _, out var problem))
                {
                    result.AddError($"{option.Name} {problem}");
                }
            }
        });
        return option;
    }

    /// <summary>A DURATION option in the broker config file's grammar (Go durations: <c>3s</c>, <c>45m</c>, <c>240h</c>, <c>1h30m</c>); it must be positive.</summary>
    public static Option<TimeSpan?> Duration(string name, string description) => Duration(name, description, allowZero: false);

    /// <summary>A DURATION option that may also be zero (<c>0s</c>, <c>0</c>).</summary>
    public static Option<TimeSpan?> Duration(string name, string description, bool allowZero) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (!GoDuration.TryParse(text, out var value, out var error))
            {
                result.AddError($"{name}: {error} Use the config file's durations, such as 3s, 45m, 240h or 1h30m.");
                return null;
            }

            if (value < TimeSpan.Zero || (value == TimeSpan.Zero && !allowZero))
            {
                result.AddError($"{name}: '{text}' must be {(allowZero ? "zero or positive" : "positive")}.");
                return null;
            }

            return value;
        },
    };

    public static Option<EncryptInternalTraffic?> Encrypt() => new("--encrypt")
    {
        Description = "Enabled (mutual TLS 1.3, the default) or Disabled (plaintext, for controlled test environments only). Wins over the config file.",
        HelpName = "Enabled|Disabled",
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (Enum.TryParse<EncryptInternalTraffic>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !int.TryParse(text, CultureInfo.InvariantCulture, out _))
            {
                return value;
            }

            result.AddError($"--encrypt: '{text}' is not Enabled or Disabled.");
            return null;
        },
    };

    public static Option<string?> Config() => new("--config")
    {
        Description = "A broker config file (the JSON given to az iot ops create --broker-config-file); reads advanced.encryptInternalTraffic. A flag on the command line wins over the file.",
        HelpName = "FILE",
    };

    public static Option<string?> CertDir(string role) => new("--cert-dir")
    {
        Description = $"The {role}'s certificates: a folder in Kubernetes TLS Secret layout (tls.crt, tls.key, ca.crt), reloaded as it changes. Required when encryption is Enabled.",
        HelpName = "DIR",
    };

    public static Option<string?> TrustBundle() => new("--trust-bundle")
    {
        Description = "The trust bundle, apart from --cert-dir's ca.crt: a PEM file of roots, or the folder a ConfigMap is mounted at (its ca.crt, else its only file), such as a trust-manager Bundle's target. Reloaded as it changes, with --cert-dir.",
        HelpName = "PATH",
    };

    public static Option<TimeSpan?> RootHandover() => Duration(
        "--root-handover",
        "When --cert-dir brings a leaf from a root new to this side, how long the previous leaf stays in use (the new root trusted at once), and how long a root that left the bundle stays trusted. Default 2m; 0s switches at once (the emergency setting after a root's key was compromised).",
        allowZero: true);

    public static Option<TimeSpan?> CertPollInterval() => Duration(
        "--cert-poll-interval",
        "How often --cert-dir is read for a new set of certificates. Default 10s.");

    public static Option<string> Mode(string description) => new Option<string>("--mode")
    {
        Description = description,
        HelpName = "echo|sink",
        DefaultValueFactory = _ => "echo",
    }.AcceptOnlyFromAmong("echo", "sink");

    /// <summary>An integer option that must be at least <paramref name="minimum"/>.</summary>
    public static Option<int?> AtLeast(string name, int minimum, string description, string helpName = "N")
    {
        var option = new Option<int?>(name) { Description = description, HelpName = helpName };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } value && value < minimum)
            {
                result.AddError($"{name}: {value} is below the minimum, {minimum}.");
            }
        });
        return option;
    }
}
