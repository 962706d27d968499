using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Broker.Transport.Cli.Certs;

/// <summary>One file of a Secret: its name, its content, and whether only the owner may read it (keys).</summary>
internal sealed record SecretFile(string Name, string Content, bool OwnerOnly = false);

/// <summary>
/// Writes a folder exactly as kubelet projects a Secret volume (pkg/volume/util/atomic_writer.go), so that a
/// running <c>serve</c> or <c>send</c>, or anything else that reads a mounted Secret, sees what it would see
/// in a pod: each update goes into a new timestamped folder <c>..2026_11_29_12_00_00.123456789</c>; a
/// <c>..data_tmp</c> symlink to it is renamed over <c>..data</c> with one rename(2), which is atomic (a reader
/// finds the old set or the new one, never a mix); <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> are symlinks
/// to <c>..data/NAME</c>; names no longer in the Secret lose their symlink; the old timestamped folder goes.
/// </summary>
/// <remarks>
/// .NET has no call that renames a symlink to a folder over another (File.Move refuses a source that
/// resolves to a folder, Directory.Move an existing destination), so rename(2) is called as kubelet calls it.
/// Files in the timestamped folder are never modified after the swap.
/// </remarks>
internal static class SecretFolderWriter
{
    /// <summary>The symlink kubelet swaps to publish an update.</summary>
    public const string DataLink = "..data";

    private const string DataLinkTmp = "..data_tmp";

    /// <summary>A folder only its owner may list or enter (0700): <c>ca/</c>, with the root's key.</summary>
    public const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>A Secret folder (0750): its owner, and the pod's group that must read the certificates, as kubelet's fsGroup does.</summary>
    public const UnixFileMode SecretFolderMode = OwnerOnlyFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    private const UnixFileMode KeyFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode CertificateFileMode = KeyFileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Publishes <paramref name="files"/> as the folder's new content, in one atomic swap.</summary>
    /// <exception cref="PlatformNotSupportedException">On Windows, which has no rename(2) of symlinks.</exception>
    public static void Write(string folder, IReadOnlyList<SecretFile> files)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Secret folders are written with symlinks and rename(2), as kubelet writes them: run 'certs' on Linux or macOS.");
        }

        CreateFolder(folder, SecretFolderMode);
        var previous = DataTarget(folder);

        // A new timestamped folder, named as Go's os.MkdirTemp(dir, "..2006_01_02_15_04_05.") names it.
        string stamp;
        do
        {
            stamp = ".." + DateTime.UtcNow.ToString("yyyy_MM_dd_HH_mm_ss", CultureInfo.InvariantCulture) + "."
                + RandomNumberGenerator.GetInt32(1_000_000_000).ToString("D9", CultureInfo.InvariantCulture);
        }
        while (Directory.Exists(Path.Combine(folder, stamp)));

        var target = new DirectoryInfo(CreateFolder(Path.Combine(folder, stamp), SecretFolderMode));
        foreach (var file in files)
        {
            WriteNew(Path.Combine(target.FullName, file.Name), file.Content, file.OwnerOnly);
        }

        // ..data_tmp -> the new folder (relative, so the folder can be moved or checked in), renamed over ..data.
        var tmp = Path.Combine(folder, DataLinkTmp);
        if (new FileInfo(tmp).LinkTarget is not null || File.Exists(tmp))
        {
            File.Delete(tmp);
        }

        Directory.CreateSymbolicLink(tmp, stamp);
        Rename(tmp, Path.Combine(folder, DataLink));

        // The user-visible names: a symlink each, through ..data, so they follow every later swap.
        foreach (var file in files)
        {
            var visible = Path.Combine(folder, file.Name);
            if (new FileInfo(visible).LinkTarget is null)
            {
                File.CreateSymbolicLink(visible, Path.Combine(DataLink, file.Name));
            }
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
        {
            var name = Path.GetFileName(entry);
            if (!name.StartsWith("..", StringComparison.Ordinal) && !files.Any(f => f.Name == name) && new FileInfo(entry).LinkTarget is not null)
            {
                File.Delete(entry);
            }
        }

        if (previous is not null && previous != stamp)
        {
            Directory.Delete(Path.Combine(folder, previous), recursive: true);
        }
    }

    /// <summary>
    /// Creates a file that must not exist yet; a key is readable by its owner only (0600), anything else by all
    /// (0644), whatever the umask: the mode given to open(2) is masked by it, so it is set again once created.
    /// </summary>
    public static void WriteNew(string path, string content, bool ownerOnly)
    {
        var mode = ownerOnly ? KeyFileMode : CertificateFileMode;
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var writer = new StreamWriter(path, System.Text.Encoding.ASCII, options))
        {
            writer.Write(content);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>Creates <paramref name="path"/> (and its parents) if missing, and gives it <paramref name="mode"/> whatever the umask; returns its full path.</summary>
    public static string CreateFolder(string path, UnixFileMode mode)
    {
        var folder = Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder.FullName, mode);
        }

        return folder.FullName;
    }

    /// <summary>The timestamped folder <c>..data</c> points to, or null when the folder is not a projected volume.</summary>
    public static string? DataTarget(string folder) => new FileInfo(Path.Combine(folder, DataLink)).LinkTarget;

    private static void Rename(string from, string to)
    {
        if (rename(from, to) != 0)
        {
            throw new IOException($"rename({from}, {to}) failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    // DllImport, not LibraryImport: the generated stub needs AllowUnsafeBlocks, and two UTF-8 strings need no more.
    // CA2101 does not know LPUTF8Str is explicit marshaling.
#pragma warning disable SYSLIB1054, CA2101
    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
#pragma warning restore SYSLIB1054, CA2101
}
