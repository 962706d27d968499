using Broker.Transport.Cli.Certs;

namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// kubelet, for one pod's projected volume (its Secret or its trust bundle ConfigMap): an update reaches the folder
/// at the pod's next sync, a random 0 to <c>delay</c> after it was published, and the sync writes the newest content
/// (never an older one after a newer), swapped in atomically as kubelet does (<see cref="SecretFolderWriter"/>).
/// </summary>
internal sealed class Kubelet(string folder, TimeSpan delay)
{
    private readonly Lock _gate = new();
    private readonly Lock _writing = new();
    private IReadOnlyList<SecretFile>? _desired;
    private Task _sync = Task.CompletedTask;
    private bool _syncPending;

    public string Folder { get; } = folder;

    /// <summary>How many times the folder was written since it was created.</summary>
    public int Deliveries { get; private set; }

    /// <summary>Writes the first content at once, as the volume is when the pod starts.</summary>
    public void Mount(IReadOnlyList<SecretFile> files) => Write(files);

    /// <summary>The API server has new content for the volume: it lands at the pod's next sync.</summary>
    public void Publish(IReadOnlyList<SecretFile> files)
    {
        lock (_gate)
        {
            _desired = files;
            if (_syncPending)
            {
                return;
            }

            _syncPending = true;
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * Random.Shared.NextDouble());
            _sync = SyncAfterAsync(wait);
        }
    }

    /// <summary>Completes once every update published so far has landed.</summary>
    public Task SettledAsync()
    {
        lock (_gate)
        {
            return _sync;
        }
    }

    private async Task SyncAfterAsync(TimeSpan wait)
    {
        await Task.Delay(wait);
        IReadOnlyList<SecretFile> files;
        lock (_gate)
        {
            files = _desired!;
            _syncPending = false;
        }

        Write(files);
    }

    // One write at a time: a sync due at once may start while the one before is still swapping its folder in.
    private void Write(IReadOnlyList<SecretFile> files)
    {
        lock (_writing)
        {
            SecretFolderWriter.Write(Folder, files);
            Deliveries++;
        }
    }
}
