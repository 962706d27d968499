using Broker.Transport.Fuzz;
using SharpFuzz;

// fuzz.sh runs this under afl-fuzz as `dotnet Broker.Transport.Fuzz.dll <target>`, with Broker.Transport.dll
// instrumented by the sharpfuzz tool. `run <target> <file>...` runs inputs once, uninstrumented, and prints
// what each did: for looking at a finding.
// The transport's targets, and the two-tier broker sample's internal protocol.
var targets = new Dictionary<string, Action<byte[]>>(FuzzTargets.All, StringComparer.Ordinal)
{
    [BrokerProtocolTarget.Name] = input => BrokerProtocolTarget.Run(input),
};

if (args.Length >= 1 && targets.TryGetValue(args[0], out var target))
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target(buffer.ToArray());
    });
    return 0;
}

if (args.Length >= 3 && args[0] == "run" && targets.TryGetValue(args[1], out target))
{
    var failed = 0;
    foreach (var file in args[2..])
    {
        try
        {
            target(File.ReadAllBytes(file));
            Console.WriteLine($"ok    {file}");
        }
#pragma warning disable CA1031 // Every failure is what this mode reports.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failed++;
            Console.WriteLine($"CRASH {file}\n{ex}");
        }
    }

    return failed == 0 ? 0 : 1;
}

Console.Error.WriteLine($"usage: Broker.Transport.Fuzz <{string.Join('|', targets.Keys)}>   (under afl-fuzz, input on stdin)");
Console.Error.WriteLine($"       Broker.Transport.Fuzz run <target> <file>...");
return 2;
