using System.Text;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;
using Xunit.Sdk;

namespace Broker.Transport.Readme.Tests.Support;

/// <summary>
/// Compiles a README block as the program a reader would paste into <c>dotnet new console</c> (top-level
/// statements, nullable on, the SDK's implicit usings) and runs it as a process of its own, so it has its own
/// console, arguments, working folder and exit code, and a hang can be killed. Roslyn compiles in memory (a
/// second or less a block); the program runs on the same runtime as the tests, against the libraries built
/// beside them. A line directive maps the block back to its README, so compiler errors and stack traces
/// name README.md's own lines.
/// </summary>
internal static class BlockRunner
{
    /// <summary>Generous for a loaded, shared 2-core machine: the README's programs end in about a second.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>The implicit usings of a <c>dotnet new console</c> project (Microsoft.NET.Sdk, ImplicitUsings enabled).</summary>
    private static readonly string[] ImplicitUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    /// <summary>
    /// What a reader's project references besides the framework: the two libraries and the Microsoft.Extensions
    /// assemblies (the Hosting sample's <c>Microsoft.Extensions.Hosting</c> and what the libraries bring).
    /// </summary>
    private static readonly Lazy<string[]> Libraries = new(() =>
        [.. TrustedAssemblies().Where(path => Path.GetDirectoryName(path) == Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)
            && Path.GetFileName(path) is var name
            && (name is "Broker.Transport.dll" or "Broker.Transport.Hosting.dll" || name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal)))]);

    private static readonly Lazy<MetadataReference[]> References = new(() =>
        [.. FrameworkReferences().Concat(Libraries.Value).Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))]);

    /// <summary>
    /// Compiles <paramref name="block"/> into <paramref name="folder"/> and runs it there with
    /// <paramref name="arguments"/>; returns its output. Fails, naming the block's file, line and heading, when
    /// it does not compile cleanly (an error or a warning), exits with a code other than 0, logs an error
    /// (a Microsoft.Extensions console line that starts <c>fail:</c> or <c>crit:</c>: a failed
    /// BackgroundService stops its host with exit code 0), or does not end within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<string> RunToEndAsync(ReadmeBlock block, string folder, TimeSpan timeout, params string[] arguments)
    {
        var program = Compile(block, folder);
        await using var process = ChildProcess.Start("dotnet", [program, .. arguments], folder);
        int exitCode;
        try
        {
            exitCode = await process.WaitForExitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new XunitException($"{block.Where} did not run to its end within {timeout.TotalSeconds} s.\n{process.Transcript}");
        }

        if (exitCode != 0)
        {
            throw new XunitException($"{block.Where} failed at run time (exit code {exitCode}).\n{process.Transcript}");
        }

        var logged = (process.Output + process.Errors).Split('\n').Where(l => l.StartsWith("fail: ", StringComparison.Ordinal) || l.StartsWith("crit: ", StringComparison.Ordinal)).ToList();
        if (logged.Count > 0)
        {
            throw new XunitException($"{block.Where} exited 0 but logged an error ({string.Join("; ", logged)}).\n{process.Transcript}");
        }

        return process.Output;
    }

    /// <summary>Compiles the block into <paramref name="folder"/> as a runnable program; returns the path of its dll.</summary>
    public static string Compile(ReadmeBlock block, string folder)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var source = SourceText.From($"#line {block.Line} \"{block.File}\"\n{block.Code}\n", Encoding.UTF8);
        var usings = SourceText.From(string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n")), Encoding.UTF8);
        var compilation = CSharpCompilation.Create(
            "ReadmeBlock",
            [CSharpSyntaxTree.ParseText(source, parse, block.File), CSharpSyntaxTree.ParseText(usings, parse, "ImplicitUsings.g.cs")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable)
                .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
                {
                    // Assembly version unification, which the SDK silences too (NoWarn 1701;1702).
                    ["CS1701"] = ReportDiagnostic.Suppress,
                    ["CS1702"] = ReportDiagnostic.Suppress,
                }));

        var dll = Path.Combine(folder, "ReadmeBlock.dll");
        EmitResult result;
        using (var pe = File.Create(dll))
        using (var pdb = File.Create(Path.ChangeExtension(dll, ".pdb")))
        {
            result = compilation.Emit(pe, pdb, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb));
        }

        var problems = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        if (!result.Success || problems.Count > 0)
        {
            throw new XunitException($"{block.Where} does not compile cleanly:\n{string.Join('\n', problems)}");
        }

        var version = $"{Environment.Version.Major}.{Environment.Version.Minor}";
        var runtimeConfig = new { runtimeOptions = new { tfm = $"net{version}", framework = new { name = "Microsoft.NETCore.App", version = $"{version}.0" } } };
        File.WriteAllText(Path.ChangeExtension(dll, ".runtimeconfig.json"), JsonSerializer.Serialize(runtimeConfig));

        // With no deps.json the host loads every assembly of the program's folder: the libraries, linked in.
        foreach (var library in Libraries.Value)
        {
            File.CreateSymbolicLink(Path.Combine(folder, Path.GetFileName(library)), library);
        }

        return dll;
    }

    /// <summary>
    /// The framework's reference assemblies, as <c>dotnet build</c> compiles against (the SDK's
    /// Microsoft.NETCore.App.Ref pack of this runtime's major and minor version), so a block cannot use what only
    /// the implementation exposes; the running framework's own assemblies where no SDK pack is found.
    /// </summary>
    private static IEnumerable<string> FrameworkReferences()
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;       // DOTNET_ROOT/shared/Microsoft.NETCore.App/10.0.x
        var packs = Path.GetFullPath(Path.Combine(runtime, "..", "..", "..", "packs", "Microsoft.NETCore.App.Ref"));
        var tfm = $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        var pack = Directory.Exists(packs)
            ? Directory.GetDirectories(packs)
                .Where(dir => Version.TryParse(Path.GetFileName(dir).Split('-')[0], out var v) && v.Major == Environment.Version.Major && v.Minor == Environment.Version.Minor)
                .Select(dir => Path.Combine(dir, "ref", tfm))
                .Where(Directory.Exists)
                .OrderByDescending(dir => Version.Parse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(dir))!).Split('-')[0]))
                .FirstOrDefault()
            : null;
        return pack is not null
            ? Directory.GetFiles(pack, "*.dll")
            : TrustedAssemblies().Where(path => Path.GetDirectoryName(path) == runtime);
    }

    private static string[] TrustedAssemblies()
        => ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
}
