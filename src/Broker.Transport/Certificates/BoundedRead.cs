namespace Broker.Transport.Certificates;

/// <summary>
/// One kind of read of certificate files (a Secret folder's three files, a trust bundle), run off the poll's thread
/// and any lock, bounded by a timeout, and never started twice: a read still pending from an earlier poll is waited
/// for again rather than started anew, so a stuck read (a hung network or FUSE mount) costs one pending read however
/// many polls pass. One that ended after its poll gave up is stale and read again. The files themselves are read
/// bounded too (regular files, size limits: <see cref="CertificateFile"/>).
/// </summary>
/// <typeparam name="T">What one read returns: the files' text and the hash they are compared by.</typeparam>
/// <param name="read">Reads the files; told each path before it is read, so a timeout can say where it was stuck.</param>
/// <param name="what">What is read, for the timeout's message: <c>the certificates in '/etc/broker/certs'</c>.</param>
/// <param name="where">Where, when no file was started yet.</param>
/// <param name="kept">What stays in use meanwhile, for the message: <c>the last good set stays in use</c>.</param>
/// <param name="timeout">How long one read may take (<see cref="SecretFolderOptions.ReadTimeout"/>).</param>
/// <param name="time">The clock the timeout runs on.</param>
internal sealed class BoundedRead<T>(Func<Action<string>, T> read, string what, string where, string kept, TimeSpan timeout, TimeProvider time)
{
    private readonly Lock _gate = new();
    private Task<T>? _pending;
    private long _started;
    private volatile string? _reading;

    /// <summary>How many reads were started (a stuck one is waited for again, never started twice).</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Reads now, or waits again for the read still pending, bounded by the timeout.</summary>
    /// <exception cref="CertificateLoadException">A file is missing, unreadable or too large, or the read timed out; the message names it.</exception>
    public async Task<T> ReadAsync()
    {
        Task<T> task;
        lock (_gate)
        {
            if (_pending is { IsCompleted: false } pending)
            {
                task = pending;
            }
            else
            {
                _ = _pending?.Exception; // observed: a stale read's failure is not news
                Interlocked.Increment(ref _started);
                task = _pending = Task.Run(() => read(path => _reading = path));
            }
        }

        try
        {
            var result = await task.WaitAsync(timeout, time).ConfigureAwait(false);
            lock (_gate)
            {
                if (ReferenceEquals(_pending, task))
                {
                    _pending = null;
                }
            }

            return result;
        }
        catch (TimeoutException ex)
        {
            throw TimedOut(ex);
        }
    }

    /// <summary>The first read, at start (not counted in <see cref="Started"/>): the same bound, waited for on this thread.</summary>
    /// <exception cref="CertificateLoadException">As <see cref="ReadAsync"/>.</exception>
    public T Read()
    {
        try
        {
            return Task.Run(() => read(path => _reading = path)).WaitAsync(timeout, time).GetAwaiter().GetResult();
        }
        catch (TimeoutException ex)
        {
            throw TimedOut(ex);
        }
    }

    private CertificateLoadException TimedOut(TimeoutException timedOut) => new(
        $"Reading {what} did not finish within {timeout.TotalSeconds:0.###} s (ReadTimeout); it was stuck on '{_reading ?? where}'. "
        + $"A file whose reads block (a hung network or FUSE mount)? The read goes on in the background, no other starts until it ends, and {kept}.",
        timedOut);
}

/// <summary>
/// What a poll already reported: a refusal is logged once per distinct cause (the content and the reason), not at
/// every poll; the content is still retried, since one that is not valid yet (clock skew) becomes valid without
/// changing. A read that timed out is one cause, whichever file its message names (the read may be at another by now).
/// </summary>
internal sealed class RefusalMemo
{
    private readonly Lock _gate = new();
    private string? _reported;
    private volatile Exception? _last;

    /// <summary>Why the content in place is not in use; null once content was accepted after it.</summary>
    public Exception? Last => _last;

    /// <summary>Records a refusal of the content hashed <paramref name="hash"/> (null: it could not be read); true when the cause is new and is to be logged.</summary>
    public bool Refused(byte[]? hash, Exception error)
    {
        var cause = error.InnerException is TimeoutException ? "read timed out" : (hash is null ? string.Empty : Convert.ToHexString(hash)) + "|" + error.Message;
        _last = error;
        lock (_gate)
        {
            var isNew = cause != _reported;
            _reported = cause;
            return isNew;
        }
    }

    /// <summary>The content in place was accepted (or is the one in use again): nothing stands refused.</summary>
    public void Accepted()
    {
        lock (_gate)
        {
            _reported = null;
        }

        _last = null;
    }
}
