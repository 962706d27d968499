using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Broker.Transport.Cli.CommandLine;

/// <summary>A <c>HOST:PORT</c> value: a name or an address (IPv6 in brackets, <c>[::1]:5100</c>) and a port (0 allowed where a listener picks one).</summary>
internal readonly record struct HostPort(string Host, int Port)
{
    /// <summary>Reads <c>HOST:PORT</c>; the error names what is wrong.</summary>
    public static bool TryParse(string text, out HostPort value, out string error)
    {
        value = default;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"'{text}' is not HOST:PORT (for example 127.0.0.1:5100, localhost:0 or [::1]:5100).";
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            error = $"'{text}': an IPv6 address goes in brackets, as [::1]:5100.";
            return false;
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
        {
            error = $"'{text}': the port '{text[(colon + 1)..]}' is not a number from 0 to 65535.";
            return false;
        }

        if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            error = $"'{text}': '{host}' is not a host name or an IP address.";
            return false;
        }

        value = new HostPort(host, port);
        error = string.Empty;
        return true;
    }

    /// <summary>The address to bind: the host as an IP address, or the first address its name resolves to (IPv4 first).</summary>
    public async Task<IPEndPoint> ResolveAsync(CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(Host, out var address))
        {
            return new IPEndPoint(address, Port);
        }

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new UsageException($"The host '{Host}' cannot be resolved: {ex.Message}", ex);
        }

        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new UsageException($"The host '{Host}' resolves to no address.");
        return new IPEndPoint(chosen, Port);
    }

    /// <summary>Where to connect: an IP endpoint for an address, a DNS endpoint for a name (the connector tries each address).</summary>
    public EndPoint ToEndPoint() => IPAddress.TryParse(Host, out var address) ? new IPEndPoint(address, Port) : new DnsEndPoint(Host, Port);

    /// <summary>An endpoint as <c>HOST:PORT</c>, IPv6 in brackets.</summary>
    public static string Format(IPEndPoint endpoint) => endpoint.Address.IsIPv4MappedToIPv6
        ? $"{endpoint.Address.MapToIPv4()}:{endpoint.Port}"
        : endpoint.ToString();

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
