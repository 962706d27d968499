using System.Text.RegularExpressions;
using Broker.Transport.Connections;

namespace Broker.Transport.Tests.Architecture;

/// <summary>
/// The library's folders use each other one way, as the README's architecture section draws them: the folder
/// graph read from the compiled library (<see cref="FolderGraph"/>) must be exactly the README's "may use"
/// lines, and those lines must have no cycle.
/// </summary>
public sealed partial class LayerTests
{
    private static readonly Lazy<SortedDictionary<string, SortedDictionary<string, string>>> Built =
        new(() => FolderGraph.Read(typeof(TransportListener).Assembly));

    [Fact]
    public void The_folders_use_each_other_exactly_as_the_README_says()
    {
        var declared = Declared();
        var built = Built.Value;
        var problems = new List<string>();
        foreach (var (folder, uses) in built)
        {
            if (!declared.TryGetValue(folder, out var allowed))
            {
                problems.Add($"{folder} is a folder of the library but has no \"may use\" line in the README's architecture section.");
                continue;
            }

            problems.AddRange(uses.Where(u => !allowed.Contains(u.Key))
                .Select(u => $"{folder} uses {u.Key} ({u.Value}), which its README line does not allow: that is an arrow the wrong way, or a line to update."));
            problems.AddRange(allowed.Where(a => !uses.ContainsKey(a))
                .Select(a => $"{folder} may use {a} by the README, but uses nothing of it: drop it from the line."));
        }

        problems.AddRange(declared.Keys.Where(f => !built.ContainsKey(f)).Select(f => $"The README names {f}, which is not a folder of the library."));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_README_layers_have_no_cycle()
    {
        var cycle = FindCycle(Declared());
        Assert.True(cycle is null, $"The README's layers form a cycle: {string.Join(" -> ", cycle ?? [])}");
    }

    [Fact]
    public void The_built_folders_have_no_cycle()
    {
        var graph = Built.Value.ToDictionary(kv => kv.Key, kv => (IReadOnlySet<string>)kv.Value.Keys.ToHashSet());
        var cycle = FindCycle(graph);
        Assert.True(cycle is null, $"The library's folders form a cycle: {string.Join(" -> ", cycle ?? [])}");
    }

    [Fact]
    public void The_graph_reader_sees_references_made_only_inside_method_bodies_and_lambdas()
    {
        // Known edges the reader must find, or a passing layer test means nothing: a field type (Connections ->
        // Sockets), a method body's constructor call (Connections -> Security: new TlsServerSecurity), and the
        // root's exceptions thrown from a lower layer (Sockets -> (root)).
        var built = Built.Value;
        Assert.Contains(nameof(Sockets), built[nameof(Connections)].Keys);
        Assert.Contains(nameof(Security), built[nameof(Connections)].Keys);
        Assert.Contains(FolderGraph.RootFolder, built[nameof(Sockets)].Keys);
        Assert.Empty(built[FolderGraph.RootFolder]);
    }

    [Fact]
    public void A_cycle_is_found_and_named()
    {
        var graph = new Dictionary<string, IReadOnlySet<string>>
        {
            ["A"] = new HashSet<string> { "B" },
            ["B"] = new HashSet<string> { "C" },
            ["C"] = new HashSet<string> { "A" },
            ["D"] = new HashSet<string> { "A" },
        };
        Assert.Equal(["A", "B", "C", "A"], FindCycle(graph));
        graph["C"] = new HashSet<string>();
        Assert.Null(FindCycle(graph));
    }

    /// <summary>The README's "Folder may use: A, B" lines of its architecture section.</summary>
    private static Dictionary<string, IReadOnlySet<string>> Declared()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var section = readme[readme.IndexOf("## Architecture", StringComparison.Ordinal)..];
        var declared = new Dictionary<string, IReadOnlySet<string>>();
        foreach (Match line in MayUse().Matches(section))
        {
            var uses = line.Groups[2].Value.Trim();
            declared[line.Groups[1].Value] = uses == "nothing"
                ? new HashSet<string>()
                : uses.Split(',', StringSplitOptions.TrimEntries).ToHashSet();
        }

        Assert.True(declared.Count > 0, "The README's architecture section has no \"Folder may use: ...\" lines.");
        return declared;
    }

    private static List<string>? FindCycle(IReadOnlyDictionary<string, IReadOnlySet<string>> graph)
    {
        var state = new Dictionary<string, int>(); // 1: on the path, 2: done
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.TryGetValue(node, out var n) ? n.Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    return [.. path.SkipWhile(p => p != next), next];
                }

                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }

        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Transport.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Transport.sln above {AppContext.BaseDirectory}: the layer test reads the README of the repository it was built in.");
    }

    [GeneratedRegex(@"^\s*(\(root\)|[A-Z][A-Za-z]+)\s+may use:\s*(.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex MayUse();
}
