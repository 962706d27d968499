using System.CommandLine;
using TwoTierBroker.CommandLine;

namespace TwoTierBroker;

/// <summary>
/// The two-tier MQTT broker sample: <c>backend</c>, <c>frontend</c> and <c>all</c>. Exit codes: 0 success,
/// 2 a usage or configuration error (the message names the flag or file), 1 a runtime failure.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("A two-tier MQTT broker on Broker.Transport: MQTTnet frontends, partitioned backends, the transport between them.")
        {
            Commands.Backend(),
            Commands.Frontend(),
            Commands.All(),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            }

            return 2;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
#pragma warning disable CA1031 // Every other failure is a runtime failure: its reason, and exit code 1.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
