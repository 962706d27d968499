using System.Text.RegularExpressions;

namespace Broker.Transport.Readme.Tests.Support;

/// <summary>
/// One fenced C# block of a README: where it is (file, line of its first code line, the heading above it), its
/// code, and the broker config file its section shows before it, if any (the reader saves that as
/// <c>broker.json</c> beside the program, and so does the test).
/// </summary>
internal sealed record ReadmeBlock(string File, int Line, string Heading, string Code, string? BrokerConfigJson)
{
    /// <summary>Where the block is, as a failure message names it: <c>README.md:142 (## Quick start)</c>.</summary>
    public string Where => $"{File}:{Line} ({Heading})";
}

/// <summary>Reads the fenced blocks out of Markdown, as a renderer would: a fence of three or more backticks, up to three spaces in.</summary>
internal static partial class ReadmeBlocks
{
    /// <summary>The info strings that mean C# (GitHub's linguist accepts all three).</summary>
    private static readonly HashSet<string> CSharp = new(StringComparer.OrdinalIgnoreCase) { "csharp", "cs", "c#" };

    /// <summary>The README.md files whose C# blocks are run: the front door, and each package's own.</summary>
    public static IReadOnlyList<string> Files(string root)
    {
        var files = new List<string> { Path.Combine(root, "README.md") };
        files.AddRange(Directory.GetDirectories(Path.Combine(root, "src"))
            .Select(project => Path.Combine(project, "README.md"))
            .Where(File.Exists)
            .Order(StringComparer.Ordinal));
        return files;
    }

    /// <summary>Every C# block of every README under <paramref name="root"/>, in order.</summary>
    public static IReadOnlyList<ReadmeBlock> All(string root)
        => [.. Files(root).SelectMany(file => Parse(Path.GetRelativePath(root, file), File.ReadAllText(file)))];

    /// <summary>The C# blocks of one Markdown text; <paramref name="file"/> names it in <see cref="ReadmeBlock.Where"/>.</summary>
    public static IReadOnlyList<ReadmeBlock> Parse(string file, string markdown)
    {
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var blocks = new List<ReadmeBlock>();
        var heading = "(no heading)";
        string? sectionJson = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                var title = Heading().Match(lines[i]);
                if (title.Success)
                {
                    heading = title.Value.Trim();
                    if (title.Groups["level"].Value.Length <= 2)
                    {
                        sectionJson = null; // A broker config file belongs to its own section.
                    }
                }

                continue;
            }

            var fence = open.Groups["fence"].Value;
            var info = open.Groups["info"].Value.Trim().Split(' ', 2)[0];
            var first = i + 1;
            var close = first;
            while (close < lines.Length && !IsClosing(lines[close], fence))
            {
                close++;
            }

            if (close == lines.Length)
            {
                throw new FormatException($"{file}:{i + 1} ({heading}): the {info} block opened here is never closed.");
            }

            var code = string.Join('\n', lines[first..close]);
            if (CSharp.Contains(info))
            {
                blocks.Add(new ReadmeBlock(file, first + 1, heading, code, sectionJson));
            }
            else if (info.Equals("json", StringComparison.OrdinalIgnoreCase) && code.Contains("\"advanced\"", StringComparison.Ordinal))
            {
                sectionJson = code;
            }

            i = close;
        }

        return blocks;
    }

    private static bool IsClosing(string line, string fence)
    {
        var trimmed = line.TrimStart(' ');
        return line.Length - trimmed.Length <= 3 && trimmed.StartsWith(fence, StringComparison.Ordinal) && trimmed.TrimEnd().Trim('`').Length == 0;
    }

    [GeneratedRegex(@"^ {0,3}(?<fence>`{3,})(?<info>[^`]*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^(?<level>#{1,6}) .+$")]
    private static partial Regex Heading();
}
