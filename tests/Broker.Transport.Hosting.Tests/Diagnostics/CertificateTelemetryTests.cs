using System.Security.Cryptography;
using Broker.Transport.Certificates;
using Broker.Transport.Diagnostics;
using Broker.Transport.Hosting.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Broker.Transport.Hosting.Tests.Diagnostics;

/// <summary>Events and measurements of real rotations: the embedded issuer on a fake clock, a Secret folder on disk.</summary>
public class CertificateTelemetryTests
{
    private const string Source = "broker.transport.certificate.source";
    private const string Kind = "broker.transport.certificate.kind";
    private const string Side = "broker.transport.side";

    [Fact]
    public void A_renewal_logs_the_old_and_new_thumbprints_and_counts_a_rotation_per_side()
    {
        using var telemetry = new Telemetry();
        using var rotations = telemetry.Collect<long>("broker.transport.certificate.rotations");
        using var issuer = StartIssuer(telemetry, Issuers.Clock(), TimeSpan.FromHours(240));
        // The thumbprint, not the leaf: the issuer disposes a leaf it has replaced once no handshake uses it.
        var old = issuer.Backend.GetCurrent().Thumbprint;

        issuer.RenewNow();

        var current = issuer.Backend.GetCurrent().Certificate;
        var rotated = Assert.Single(telemetry.Events(100), r => r.State("Role") == "backend");
        Assert.Equal("CertificateRotated", rotated.Id.Name);
        Assert.Equal(LogLevel.Information, rotated.Level);
        Assert.Equal(old, rotated.State("OldThumbprint"));
        Assert.Equal(current.Thumbprint, rotated.State("NewThumbprint"));
        Assert.Contains(current.NotAfter.ToUniversalTime().ToString("u", System.Globalization.CultureInfo.InvariantCulture), rotated.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", rotated.Message, StringComparison.Ordinal);
        Assert.Single(telemetry.Events(100), r => r.State("Role") == "frontend");
        Assert.Equal(1, rotations.GetMeasurementSnapshot().Sum((Source, "issuer"), (Kind, "leaf"), (Side, "backend")));
        Assert.Equal(1, rotations.GetMeasurementSnapshot().Sum((Source, "issuer"), (Kind, "leaf"), (Side, "frontend")));
    }

    [Fact]
    public void A_failed_renewal_is_logged_counted_and_degrades_health_until_a_retry_succeeds()
    {
        using var telemetry = new Telemetry();
        using var failures = telemetry.Collect<long>("broker.transport.certificate.rotation.failures");
        var clock = Issuers.Clock();
        using var issuer = StartIssuer(telemetry, clock, TimeSpan.FromHours(3));
        var policy = new InternalCertsConfig(TimeSpan.FromHours(3), null, PrivateKeyAlgorithm.Ec256, RotationPolicy.Always);
        var good = issuer.Backend.GetCurrent().Certificate.Thumbprint;
        Assert.Equal(CertificateState.Healthy, CertificateHealth.Check(TransportSide.Backend, issuer.Backend, policy, clock.GetUtcNow()).State);
        issuer.KeyFactory = _ => throw new CryptographicException("The key store is offline.");

        clock.Advance(TimeSpan.FromHours(2)); // 2/3 of 3h: due, and the renewal fails.

        var failed = Assert.Single(telemetry.Events(101), r => r.State("Role") == "backend");
        Assert.Equal("RotationFailed", failed.Id.Name);
        Assert.Equal(LogLevel.Error, failed.Level);
        Assert.Equal("1", failed.State("Attempt"));
        Assert.Contains("The key store is offline.", failed.Message, StringComparison.Ordinal);
        Assert.Equal(1, failures.GetMeasurementSnapshot().Sum((Source, "issuer"), (Kind, "leaf"), (Side, "backend")));
        Assert.Equal(good, issuer.Backend.GetCurrent().Certificate.Thumbprint);
        var degraded = CertificateHealth.Check(TransportSide.Backend, issuer.Backend, policy, clock.GetUtcNow());
        Assert.Equal(CertificateState.Degraded, degraded.State);
        Assert.Contains("past its renewal time", degraded.Description, StringComparison.Ordinal);

        issuer.KeyFactory = CertificateIssuance.CreateKey;
        clock.Advance(TimeSpan.FromSeconds(2)); // The first retry, 1 s later, succeeds.

        Assert.NotEqual(good, issuer.Backend.GetCurrent().Certificate.Thumbprint);
        Assert.Equal(CertificateState.Healthy, CertificateHealth.Check(TransportSide.Backend, issuer.Backend, policy, clock.GetUtcNow()).State);
    }

    [Fact]
    public void A_root_rollover_logs_its_start_and_its_end_and_counts_a_root_rotation()
    {
        using var telemetry = new Telemetry();
        using var rotations = telemetry.Collect<long>("broker.transport.certificate.rotations");
        var clock = Issuers.Clock();
        using var issuer = StartIssuer(telemetry, clock, TimeSpan.FromHours(2));
        var oldRoot = issuer.Root.Thumbprint;

        issuer.RollOverRootNow();

        var started = Assert.Single(telemetry.Events(102));
        Assert.Equal("RootRolloverStarted", started.Id.Name);
        Assert.Equal(oldRoot, started.State("OldThumbprint"));
        Assert.Equal(issuer.Root.Thumbprint, started.State("NewThumbprint"));
        Assert.Equal(1, rotations.GetMeasurementSnapshot().Sum((Source, "issuer"), (Kind, "root")));
        Assert.Empty(telemetry.Events(103));

        for (var step = 0; step < 15; step++)
        {
            clock.Advance(TimeSpan.FromMinutes(10)); // Past the last leaf the old root signed (2h).
        }

        var finished = Assert.Single(telemetry.Events(103));
        Assert.Equal("RootRolloverFinished", finished.Id.Name);
        Assert.Equal(oldRoot, finished.State("Thumbprint"));
        Assert.Single(issuer.TrustBundle);
    }

    [Fact]
    public void A_Secret_folder_reload_and_a_refused_set_are_logged_and_counted()
    {
        using var telemetry = new Telemetry();
        using var rotations = telemetry.Collect<long>("broker.transport.certificate.rotations");
        using var failures = telemetry.Collect<long>("broker.transport.certificate.rotation.failures");
        using var folder = new TempFolder();
        var pki = TestPki.Create();
        var first = pki.Backend();
        WriteSecret(folder, first);
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1), Environment = new TransportEnvironment { LoggerFactory = telemetry.Loggers, MeterFactory = telemetry.Meters } });
        var second = pki.Backend();
        WriteSecret(folder, second);

        Assert.True(source.CheckNow());

        var reloaded = Assert.Single(telemetry.Events(110));
        Assert.Equal(first.Certificate.Thumbprint, reloaded.State("OldThumbprint"));
        Assert.Equal(second.Certificate.Thumbprint, reloaded.State("NewThumbprint"));
        Assert.Equal(1, rotations.GetMeasurementSnapshot().Sum((Source, "secret_folder"), (Kind, "leaf")));

        folder.Write(PemCredentials.KeyFileName, PemFiles.Pkcs8Key(pki.Backend().Certificate)); // A key of another certificate.
        Assert.False(source.CheckNow());

        var refused = Assert.Single(telemetry.Events(111));
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Equal(second.Certificate.Thumbprint, refused.State("Thumbprint"));
        Assert.DoesNotContain("PRIVATE KEY", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, failures.GetMeasurementSnapshot().Sum((Source, "secret_folder"), (Kind, "leaf")));
        Assert.Equal(second.Certificate.Thumbprint, source.GetCurrent().Certificate.Thumbprint);
    }

    [Fact]
    public void A_root_handover_logs_each_step_in_the_trust_category_and_counts_it_as_a_root_rotation_with_its_step()
    {
        const string Step = "broker.transport.certificate.handover.step";
        using var telemetry = new Telemetry();
        using var rotations = telemetry.Collect<long>("broker.transport.certificate.rotations");
        using var folder = new TempFolder();
        var (r1, r2) = (TestPki.Create("Root 1"), TestPki.Create("Root 2"));
        WriteSecret(folder, r1.Backend());
        var clock = Issuers.ClockAtRealNow();
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { PollInterval = TimeSpan.FromHours(1), Environment = new TransportEnvironment { LoggerFactory = telemetry.Loggers, MeterFactory = telemetry.Meters, TimeProvider = clock } });
        var handover = new SecretFolderOptions().RootHandover;

        WriteSecret(folder, r2.Backend()); // leaf and ca.crt together: an abrupt CA switch
        Assert.True(source.CheckNow());
        clock.Advance(handover);
        clock.Advance(handover);

        var steps = telemetry.Logs.GetSnapshot().Select(r => (r.Id.Id, r.Id.Name, r.Category)).ToList();
        const string Trust = "Broker.Transport.Certificates.Trust";
        Assert.Equal(
            [(112, "TrustBundleReloaded", Trust), (113, "RootHandoverStarted", Trust), (114, "RootHandoverSwitched", Trust), (115, "RootsRetired", Trust)],
            steps);
        var started = telemetry.Events(113)[0];
        Assert.Equal(r2.Root.Thumbprint, started.State("Root")![^41..^1]);
        Assert.Equal(handover.ToString(), started.State("RootHandover"));
        var snapshot = rotations.GetMeasurementSnapshot();
        Assert.Equal(1, snapshot.Sum((Source, "secret_folder"), (Kind, "trust_bundle")));
        Assert.Equal(1, snapshot.Sum((Source, "secret_folder"), (Kind, "root"), (Step, "started")));
        Assert.Equal(1, snapshot.Sum((Source, "secret_folder"), (Kind, "root"), (Step, "switched")));
        Assert.Equal(1, snapshot.Sum((Source, "secret_folder"), (Kind, "root"), (Step, "retired")));
        Assert.Equal(1, snapshot.Sum((Source, "secret_folder"), (Kind, "leaf"))); // the switch replaced the leaf in use, once
    }

    [Fact]
    public void A_refused_trust_bundle_is_logged_once_and_counted_as_a_trust_bundle_failure()
    {
        using var telemetry = new Telemetry();
        using var failures = telemetry.Collect<long>("broker.transport.certificate.rotation.failures");
        using var folder = new TempFolder();
        using var bundle = new TempFolder();
        var pki = TestPki.Create();
        WriteSecret(folder, pki.Backend());
        var file = bundle.Write("ca.crt", PemFiles.Bundle(pki.Bundle));
        using var source = SecretFolderCertificateSource.Open(folder.Path, new SecretFolderOptions { TrustBundlePath = bundle.Path, PollInterval = TimeSpan.FromHours(1), Environment = new TransportEnvironment { LoggerFactory = telemetry.Loggers, MeterFactory = telemetry.Meters } });

        bundle.Write("ca.crt", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        Assert.False(source.CheckNow());
        Assert.False(source.CheckNow());

        var refused = Assert.Single(telemetry.Events(118));
        Assert.Equal("TrustBundleReloadRefused", refused.Id.Name);
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Equal(file, refused.State("Path"));
        Assert.Equal(2, failures.GetMeasurementSnapshot().Sum((Source, "secret_folder"), (Kind, "trust_bundle")));
        Assert.Single(source.GetTrustBundle());
    }

    private static InternalIssuer StartIssuer(Telemetry telemetry, TimeProvider clock, TimeSpan duration)
    {
        var options = Issuers.Options(clock, duration);
        options.Environment = options.Environment with { LoggerFactory = telemetry.Loggers };
        options.Environment = options.Environment with { MeterFactory = telemetry.Meters };
        return InternalIssuer.Start(options);
    }

    private static void WriteSecret(TempFolder folder, CertificateCredentials credentials)
    {
        folder.Write(PemCredentials.CertificateFileName, PemFiles.Chain(credentials));
        folder.Write(PemCredentials.KeyFileName, PemFiles.Pkcs8Key(credentials.Certificate));
        folder.Write(PemCredentials.TrustBundleFileName, PemFiles.Bundle(credentials.TrustBundle));
    }
}
