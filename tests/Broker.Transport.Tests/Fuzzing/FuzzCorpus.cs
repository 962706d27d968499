using CsCheck;

namespace Broker.Transport.Tests.Fuzzing;

/// <summary>
/// Where the fuzz corpus lives, and AFL++-like mutations of its seeds; shared by the transport's replay tests
/// and the broker sample's (linked into tests/TwoTierBroker.Tests).
/// </summary>
internal static class FuzzCorpus
{
    /// <summary>fuzz/Broker.Transport.Fuzz in this checkout, found by walking up from the test binaries.</summary>
    public static string Folder
    {
        get
        {
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, "fuzz", "Broker.Transport.Fuzz");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException($"No fuzz/Broker.Transport.Fuzz above {AppContext.BaseDirectory}.");
        }
    }

    /// <summary>A seed with a few bytes flipped, inserted, deleted or cut, as AFL++'s havoc stage does.</summary>
    public static Gen<byte[]> Mutated(byte[][] seeds, int maxEdits = 8) =>
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Select(Gen.Int[0, 3], Gen.Int[0, int.MaxValue], Gen.Byte).Array[1, maxEdits], (seed, edits) =>
        {
            var bytes = new List<byte>(seeds[seed]);
            foreach (var (kind, at, value) in edits)
            {
                var position = bytes.Count == 0 ? 0 : at % bytes.Count;
                switch (kind)
                {
                    case 0 when bytes.Count > 0: bytes[position] = value; break;
                    case 1: bytes.Insert(position, value); break;
                    case 2 when bytes.Count > 0: bytes.RemoveAt(position); break;
                    case 3 when bytes.Count > 0: bytes.RemoveRange(position, bytes.Count - position); break;
                }
            }

            return bytes.ToArray();
        });
}
