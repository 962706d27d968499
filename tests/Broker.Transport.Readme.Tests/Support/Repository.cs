namespace Broker.Transport.Readme.Tests.Support;

/// <summary>The repository these tests were built from: the folder above their output that holds Transport.sln.</summary>
internal static class Repository
{
    public static readonly string Root = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Transport.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Transport.sln above {AppContext.BaseDirectory}: these tests read the README of the repository they were built in.");
    }
}
