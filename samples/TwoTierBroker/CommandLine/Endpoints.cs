using System.CommandLine;
using System.Globalization;
using System.Net;

namespace TwoTierBroker.CommandLine;

/// <summary><c>HOST:PORT</c> flags: addresses to listen on, and backends to connect to (names or addresses).</summary>
internal static class Endpoints
{
    /// <summary>A listening address: an IP address (or <c>localhost</c>, which is 127.0.0.1) and a port; 0 picks one.</summary>
    public static Option<IPEndPoint> Listen(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "HOST:PORT",
        Required = true,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (TryParse(text, out var host, out var port, out var error))
            {
                if (host == "localhost")
                {
                    return new IPEndPoint(IPAddress.Loopback, port);
                }

                if (IPAddress.TryParse(host, out var address))
                {
                    return new IPEndPoint(address, port);
                }

                error = $"'{text}': listen on an IP address (such as 127.0.0.1 or 0.0.0.0), not the name '{host}'.";
            }

            result.AddError($"{name}: {error}");
            return null!;
        },
    };

    /// <summary>The backends, comma separated, in partition order: addresses or names (a name is also what the backend's certificate must carry).</summary>
    public static Option<EndPoint[]> Backends() => new("--backends")
    {
        Description = "The backends, HOST:PORT separated by commas, in the same order on every frontend (the order is the partitioning).",
        HelpName = "HOST:PORT[,HOST:PORT...]",
        Required = true,
        CustomParser = result =>
        {
            var endpoints = new List<EndPoint>();
            foreach (var text in result.Tokens[0].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!TryParse(text, out var host, out var port, out var error) || port == 0)
                {
                    result.AddError($"--backends: {(port == 0 && error.Length == 0 ? $"'{text}': a backend's port cannot be 0." : error)}");
                    return [];
                }

                endpoints.Add(IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port));
            }

            if (endpoints.Count == 0)
            {
                result.AddError("--backends: give at least one HOST:PORT.");
            }

            return [.. endpoints];
        },
    };

    /// <summary>An endpoint as <c>HOST:PORT</c>, IPv6 in brackets.</summary>
    public static string Format(IPEndPoint endpoint) => endpoint.ToString();

    private static bool TryParse(string text, out string host, out int port, out string error)
    {
        (host, port, error) = (string.Empty, 0, string.Empty);
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"'{text}' is not HOST:PORT (for example 127.0.0.1:1883).";
            return false;
        }

        host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > IPEndPoint.MaxPort)
        {
            error = $"'{text}': the port is not a number from 0 to 65535.";
            return false;
        }

        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            error = $"'{text}': '{host}' is not a host name or an IP address.";
            return false;
        }

        return true;
    }
}
