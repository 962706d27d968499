using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Broker.Transport.Certificates;

/// <summary>
/// Reads one certificate or key file, bounded: a regular file only (after following symlinks, as kubelet's
/// <c>tls.crt -> ..data/tls.crt</c> must be followed), and at most a given size. A FIFO blocks its reader until a
/// writer comes, <c>/dev/zero</c> never ends, and a 50 MB "bundle" would be read and hashed at every poll: each is
/// refused before a byte is read, with a message that names the file and what it is.
/// </summary>
/// <remarks>
/// The type and size come from <c>statx(2)</c>, whose buffer layout is the same on every Linux architecture;
/// elsewhere (macOS, Windows: development machines) from <see cref="FileInfo"/>, which tells a folder from a file
/// but not a pipe. The read itself is bounded too, in case the file grew between the check and the read. A read
/// that blocks all the same (a hung network or FUSE mount) is bounded by the caller's timeout.
/// </remarks>
internal static class CertificateFile
{
    private const int StatxBufferSize = 256;
    private const int StatxModeOffset = 0x1c;
    private const int StatxSizeOffset = 0x28;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int AtFdCwd = -100;

    private const int FileTypeMask = 0xf000;
    private const int RegularFile = 0x8000;

    private static readonly Dictionary<int, string> FileTypes = new()
    {
        [0x1000] = "a named pipe (FIFO)",
        [0x2000] = "a character device",
        [0x4000] = "a folder",
        [0x6000] = "a block device",
        [0xc000] = "a socket",
    };

    private static bool s_noStatx;

    /// <summary>Reads <paramref name="path"/> as text (PEM is ASCII; a UTF-8 byte order mark is skipped).</summary>
    /// <param name="path">The file; a symlink is followed.</param>
    /// <param name="what">What the file holds, for messages: "certificate", "private key", "trust bundle".</param>
    /// <param name="maxBytes">The most that is read.</param>
    /// <exception cref="CertificateLoadException">The file is missing, unreadable, not a regular file or too large; the message names it.</exception>
    public static string ReadText(string path, string what, long maxBytes)
    {
        var size = CheckRegularFile(path, what);
        if (size > maxBytes)
        {
            throw TooLarge(path, what, size.ToString("N0", CultureInfo.InvariantCulture), maxBytes);
        }

        byte[] bytes;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            bytes = ReadAtMost(handle, maxBytes, path, what);
        }
        catch (FileNotFoundException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' does not exist.", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' does not exist (its folder is missing).", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' cannot be read: permission denied.", ex);
        }
        catch (IOException ex)
        {
            throw new CertificateLoadException($"The {what} file '{path}' cannot be read: {ex.Message}", ex);
        }

        var text = bytes.AsSpan();
        if (text.StartsWith("\uFEFF"u8))
        {
            text = text[3..];
        }

        return Encoding.UTF8.GetString(text);
    }

    private static CertificateLoadException TooLarge(string path, string what, string size, long maxBytes) => new(
        $"The {what} file '{path}' is {size} bytes; at most {maxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes ({Binary(maxBytes)}) are read from a {what} file. Is it the right file?");

    private static string Binary(long bytes) => bytes % (1024 * 1024) == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * 1024)} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024} KiB");

    private static byte[] ReadAtMost(SafeFileHandle handle, long maxBytes, string path, string what)
    {
        // One byte more than allowed tells a file that grew past the limit since it was checked.
        var buffer = new byte[(int)Math.Min(maxBytes + 1, 64 * 1024)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length > maxBytes)
                {
                    throw TooLarge(path, what, $"more than {maxBytes.ToString("N0", CultureInfo.InvariantCulture)}", maxBytes);
                }

                Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1, (long)buffer.Length * 2));
            }

            var read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
            if (read == 0)
            {
                return buffer[..length];
            }

            length += read;
            if (length > maxBytes)
            {
                throw TooLarge(path, what, $"more than {maxBytes.ToString("N0", CultureInfo.InvariantCulture)}", maxBytes);
            }
        }
    }

    /// <summary>Checks that <paramref name="path"/> is a regular file once symlinks are followed; returns its size.</summary>
    private static long CheckRegularFile(string path, string what)
    {
        if (OperatingSystem.IsLinux() && !Volatile.Read(ref s_noStatx))
        {
            var buffer = new byte[StatxBufferSize];
            int result;
            try
            {
                result = statx(AtFdCwd, path, 0, StatxType | StatxSize, buffer);
            }
            catch (EntryPointNotFoundException)
            {
                // A C library without statx (glibc before 2.28): the checks below still tell a folder.
                Volatile.Write(ref s_noStatx, true);
                return CheckWithFileInfo(path, what);
            }

            if (result != 0)
            {
                throw Unreadable(path, what, Marshal.GetLastPInvokeError());
            }

            var mode = MemoryMarshal.Read<ushort>(buffer.AsSpan(StatxModeOffset)) & FileTypeMask;
            if (mode != RegularFile)
            {
                throw NotRegular(path, what, FileTypes.GetValueOrDefault(mode, string.Create(CultureInfo.InvariantCulture, $"a file of type 0x{mode:x}")));
            }

            return MemoryMarshal.Read<long>(buffer.AsSpan(StatxSizeOffset));
        }

        return CheckWithFileInfo(path, what);
    }

    private static long CheckWithFileInfo(string path, string what)
    {
        if (Directory.Exists(path))
        {
            throw NotRegular(path, what, "a folder");
        }

        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new CertificateLoadException($"The {what} file '{path}' does not exist.");
        }

        // A symlink's own length is its target's name: follow it.
        return file.LinkTarget is null ? file.Length : new FileInfo(file.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path).Length;
    }

    private static CertificateLoadException NotRegular(string path, string what, string kind) => new(
        $"The {what} file '{path}' is {kind}, not a regular file: only regular files are read (a pipe or a device can block a reader or never end). "
        + "A mounted Secret's files are regular files behind symlinks.");

    private static CertificateLoadException Unreadable(string path, string what, int errno) => errno switch
    {
        2 => new($"The {what} file '{path}' does not exist."),
        13 => new($"The {what} file '{path}' cannot be read: permission denied."),
        20 => new($"The {what} file '{path}' does not exist (a part of its path is not a folder)."),
        40 => new($"The {what} file '{path}' cannot be read: its symlinks loop."),
        _ => new($"The {what} file '{path}' cannot be read (errno {errno})."),
    };

    // DllImport, not LibraryImport: the generated stub needs AllowUnsafeBlocks. statx(2) fills a buffer whose
    // layout (struct statx) is fixed across architectures, unlike stat(2)'s. CA2101: LPUTF8Str is explicit.
#pragma warning disable SYSLIB1054, CA2101, CA5392
    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
#pragma warning restore SYSLIB1054, CA2101, CA5392
}
