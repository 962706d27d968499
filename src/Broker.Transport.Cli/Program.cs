using System.CommandLine;
using Broker.Transport.Cli.Certs;
using Broker.Transport.Cli.CommandLine;
using Broker.Transport.Cli.Send;
using Broker.Transport.Cli.Serve;

namespace Broker.Transport.Cli;

/// <summary>The <c>broker-transport</c> tool: <c>serve</c>, <c>send</c> and <c>certs</c>.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, Console.Error);

    /// <summary>Parses and runs one command line; exit codes: 0 success, 2 usage or configuration error, 1 runtime failure.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error)
    {
        var root = CreateRootCommand();
        var parse = root.Parse(args);

        // System.CommandLine answers a parse error with exit code 1; ours is 2, with the message first and
        // a pointer to the help (the full help would bury the message).
        if (parse.Errors.Count > 0)
        {
            foreach (var parseError in parse.Errors)
            {
                await error.WriteLineAsync($"error: {parseError.Message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync($"Run '{CommandPath(parse)} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        try
        {
            // Signals are the commands' own business: serve drains for a grace period, send prints its summary.
            return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false })
                .ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
#pragma warning disable CA1031 // Every other failure is a runtime failure: its reason, and exit code 1.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
    }

    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("broker-transport: try the broker's internal transport from a shell (serve, send) and make a development PKI (certs).");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(SendCommand.Create());
        root.Subcommands.Add(CertsCommand.Create());
        return root;
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command is RootCommand ? "broker-transport" : result.Command.Name);
        }

        return string.Join(' ', names);
    }
}
