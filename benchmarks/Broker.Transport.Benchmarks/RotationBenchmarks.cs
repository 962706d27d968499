using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Broker.Transport.Certificates;
using Broker.Transport.Connections;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// What rotation costs handshakes, and what asking the certificate source at every handshake costs. Full
/// mutual handshakes (Ec256, a backend name never used before at each connect) with the issuer's leaves
/// steady, then with a background loop calling <see cref="InternalIssuer.RenewNow"/> every
/// <see cref="RotationIntervalMs"/> ms (new keys and leaves for both sides each time, far more often than
/// any real schedule), next to <see cref="ICertificateSource.GetCurrent"/> of each source kind, in the same
/// group so the Ratio column puts the source's cost against a handshake's.
/// </summary>
[MemoryDiagnoser]
public class RotationBenchmarks
{
    /// <summary>How often the rotating benchmark renews both leaves.</summary>
    public const int RotationIntervalMs = 20;

    private InternalIssuer? _issuer;
    private TransportListener? _listener;
    private StaticCertificateSource? _static;
    private SecretFolderCertificateSource? _folder;
    private string? _folderPath;
    private CancellationTokenSource? _stopRotating;
    private Task<(int Rotations, TimeSpan Elapsed)>? _rotating;

    /// <summary>The issuer, an encrypted listener, and the three sources on the issuer's frontend leaf.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _issuer = TlsLoopback.StartIssuer();
        _listener = TlsLoopback.Listen(_issuer.Backend);
        var frontend = _issuer.Frontend.GetCurrent();
        _static = new StaticCertificateSource(frontend);
        _folderPath = Directory.CreateTempSubdirectory("broker-bench-secret-").FullName;
        File.WriteAllText(Path.Combine(_folderPath, PemCredentials.CertificateFileName), frontend.Certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_folderPath, PemCredentials.KeyFileName), frontend.Certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_folderPath, PemCredentials.TrustBundleFileName), _issuer.Root.ExportCertificatePem());
        _folder = SecretFolderCertificateSource.Open(_folderPath);
    }

    /// <summary>The same, and the rotation loop starts.</summary>
    [GlobalSetup(Target = nameof(Full_handshake_while_rotating))]
    public void SetupRotating()
    {
        Setup();
        _stopRotating = new CancellationTokenSource();
        _rotating = RotateAsync(_issuer!, _stopRotating.Token);
    }

    /// <summary>Stops the rotation loop (and says how many rotations it made), unbinds, deletes the folder.</summary>
    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_rotating is not null)
        {
            await _stopRotating!.CancelAsync();
            var (rotations, elapsed) = await _rotating;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// {rotations} rotations in {elapsed.TotalSeconds:F1} s: one every {elapsed.TotalMilliseconds / Math.Max(1, rotations):F1} ms"));
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        _folder?.Dispose();
        _issuer?.Dispose();
        if (_folderPath is not null)
        {
            Directory.Delete(_folderPath, recursive: true);
        }
    }

    /// <summary>A full mutual handshake, leaves steady.</summary>
    [Benchmark(Baseline = true)]
    public Task Full_handshake() => ConnectAsync();

    /// <summary>A full mutual handshake while both leaves are renewed every <see cref="RotationIntervalMs"/> ms.</summary>
    [Benchmark]
    public Task Full_handshake_while_rotating() => ConnectAsync();

    /// <summary>What every handshake asks the issuer's source.</summary>
    [Benchmark]
    public CertificateCredentials GetCurrent_internal_issuer() => _issuer!.Frontend.GetCurrent();

    /// <summary>What every handshake asks a Secret folder source.</summary>
    [Benchmark]
    public CertificateCredentials GetCurrent_secret_folder() => _folder!.GetCurrent();

    /// <summary>What every handshake asks a static source.</summary>
    [Benchmark]
    public CertificateCredentials GetCurrent_static() => _static!.GetCurrent();

    /// <summary>Renews both leaves every <see cref="RotationIntervalMs"/> ms until <paramref name="stop"/>; says how many times, in how long.</summary>
    internal static async Task<(int Rotations, TimeSpan Elapsed)> RotateAsync(InternalIssuer issuer, CancellationToken stop)
    {
        var rotations = 0;
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(RotationIntervalMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                issuer.RenewNow();
                rotations++;
            }
        }
        catch (OperationCanceledException)
        {
        }

        return (rotations, clock.Elapsed);
    }

    private Task ConnectAsync() => TlsLoopback.ConnectAndAbortAsync(TlsLoopback.Connector(_issuer!.Frontend, TlsLoopback.FreshName()), _listener!);
}
