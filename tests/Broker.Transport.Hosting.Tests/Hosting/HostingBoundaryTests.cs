using System.Reflection;
using System.Runtime.CompilerServices;
using Broker.Transport.Connections;

namespace Broker.Transport.Hosting.Tests.Hosting;

/// <summary>
/// Hosting ships as its own package, so it may use only the library's public API: a friend assembly's access to
/// internals breaks as soon as someone pairs it with a newer library package.
/// </summary>
public class HostingBoundaryTests
{
    [Fact]
    public void The_library_grants_the_Hosting_package_no_internals()
    {
        var friends = typeof(TransportListener).Assembly.GetCustomAttributes<InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName)
            .ToList();

        Assert.NotEmpty(friends); // The attribute is read: the tests' own friendship is there.
        Assert.Contains("Broker.Transport.Hosting.Tests", friends);
        Assert.DoesNotContain("Broker.Transport.Hosting", friends);
    }
}
