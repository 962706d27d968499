using System.Net;
using Broker.Transport.Cli.CommandLine;

namespace Broker.Transport.Cli.Tests.CommandLine;

public sealed class HostPortTests
{
    [Theory]
    [InlineData("127.0.0.1:5100", "127.0.0.1", 5100, "127.0.0.1:5100")]
    [InlineData("localhost:0", "localhost", 0, "localhost:0")]
    [InlineData("[::1]:5100", "::1", 5100, "[::1]:5100")]
    [InlineData("backend.broker.svc:65535", "backend.broker.svc", 65535, "backend.broker.svc:65535")]
    public void Reads_host_and_port(string text, string host, int port, string written)
    {
        Assert.True(HostPort.TryParse(text, out var value, out var error), error);
        Assert.Equal(new HostPort(host, port), value);
        Assert.Equal(written, value.ToString());
    }

    [Theory]
    [InlineData("5100", "is not HOST:PORT")]
    [InlineData(":5100", "is not HOST:PORT")]
    [InlineData("localhost:", "is not HOST:PORT")]
    [InlineData("localhost:http", "the port 'http' is not a number")]
    [InlineData("localhost:-1", "the port '-1' is not a number")]
    [InlineData("bad_host!:1", "'bad_host!' is not a host name or an IP address")]
    public void Refuses_what_is_not_host_and_port(string text, string message)
    {
        Assert.False(HostPort.TryParse(text, out _, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Formats_a_bound_endpoint_as_the_listening_line_shows_it()
    {
        Assert.Equal("127.0.0.1:5100", HostPort.Format(new IPEndPoint(IPAddress.Loopback, 5100)));
        Assert.Equal("[::1]:5100", HostPort.Format(new IPEndPoint(IPAddress.IPv6Loopback, 5100)));
        Assert.Equal("10.0.0.1:7", HostPort.Format(new IPEndPoint(IPAddress.Parse("10.0.0.1").MapToIPv6(), 7)));
    }
}
