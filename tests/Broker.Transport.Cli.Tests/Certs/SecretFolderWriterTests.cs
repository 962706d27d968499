using Broker.Transport.Certificates;
using Broker.Transport.Cli.Certs;
using Broker.Transport.Cli.Tests.Support;

namespace Broker.Transport.Cli.Tests.Certs;

/// <summary>The kubelet-style writer, in process, read by the library's own Secret folder code on real files and symlinks.</summary>
public sealed class SecretFolderWriterTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_library_source_polling_during_swaps_never_finds_a_broken_set()
    {
        using var temp = new TempFolder();
        DevPki.Issue(temp.Path, PrivateKeyAlgorithm.Ec256, TimeSpan.FromHours(1), TimeSpan.FromHours(10), ["localhost"], ["frontend"]);
        using var source = SecretFolderCertificateSource.Open(temp["backend"], new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1) });
        var seen = new HashSet<string>();
        var failures = new List<string>();
        using var done = new CancellationTokenSource();

        // The source reads the three files through their symlinks and reads again when ..data moved under it:
        // what kubelet's atomic swap promises. A writer that removed ..data, or changed a file in place, would
        // show here as a refused set (a missing file, or a key from another certificate).
        using var started = new SemaphoreSlim(0);
        var reader = Task.Run(() =>
        {
            // One read before the first swap and one after the last, whatever the scheduler does.
            var last = false;
            while (!last)
            {
                last = done.IsCancellationRequested;
                source.CheckNow();
                if (source.LastError is { } error)
                {
                    failures.Add(error.Message);
                }

                seen.Add(source.GetCurrent().Certificate.SerialNumber);
                if (seen.Count == 1 && started.CurrentCount == 0)
                {
                    started.Release();
                }
            }
        }, TestContext.Current.CancellationToken);
        await started.WaitAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 15; i++)
        {
            DevPki.Rotate(temp.Path, newCa: false);
        }

        done.Cancel();
        await reader;
        Assert.Empty(failures);
        Assert.True(seen.Count >= 2, $"the reader saw {seen.Count} certificates");
    }

    [Fact]
    public void The_library_source_picks_up_each_swap_and_only_one_timestamped_folder_remains()
    {
        using var temp = new TempFolder();
        DevPki.Issue(temp.Path, PrivateKeyAlgorithm.Ec256, TimeSpan.FromHours(1), TimeSpan.FromHours(10), ["localhost"], ["frontend"]);
        using var source = SecretFolderCertificateSource.Open(temp["frontend"], new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1) });
        var first = source.GetCurrent().Certificate.SerialNumber;

        DevPki.Rotate(temp.Path, newCa: false);

        Assert.True(source.CheckNow());
        Assert.NotEqual(first, source.GetCurrent().Certificate.SerialNumber);
        Assert.Single(Directory.EnumerateDirectories(temp["frontend"], "..2*"));
    }

    [Fact]
    public void Names_left_out_of_an_update_lose_their_symlink_and_keys_are_owner_only()
    {
        using var temp = new TempFolder();
        var folder = temp["secret"];
        SecretFolderWriter.Write(folder, [new SecretFile("a.txt", "one"), new SecretFile("b.key", "secret", OwnerOnly: true)]);
        Assert.Equal("one", File.ReadAllText(Path.Combine(folder, "a.txt")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, SecretFolderWriter.DataTarget(folder)!, "b.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(Path.Combine(folder, SecretFolderWriter.DataTarget(folder)!, "a.txt")));

        SecretFolderWriter.Write(folder, [new SecretFile("a.txt", "two")]);

        Assert.Equal("two", File.ReadAllText(Path.Combine(folder, "a.txt")));
        Assert.False(Path.Exists(Path.Combine(folder, "b.key")));
        Assert.Null(new FileInfo(Path.Combine(folder, "b.key")).LinkTarget);
        Assert.Single(Directory.EnumerateDirectories(folder, "..2*"));
    }
}
