using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Tests.Configuration;

public class BrokerConfigModelTests
{
    private static readonly InternalCertsConfig Ed25519Certs =
        new(TimeSpan.FromHours(240), TimeSpan.FromMinutes(45), PrivateKeyAlgorithm.Ed25519, RotationPolicy.Always);

    [Fact]
    public void ApplyTo_sets_encryption_on_the_listener_and_the_connector()
    {
        var config = BrokerConfigFile.Parse(BrokerConfigFileTests.DisabledExample).Config;
        var listener = new TransportListenerOptions();
        var connector = new TransportConnectorOptions();

        config.ApplyTo(listener);
        config.ApplyTo(connector);

        Assert.Equal(EncryptInternalTraffic.Disabled, listener.EncryptInternalTraffic);
        Assert.Equal(EncryptInternalTraffic.Disabled, connector.EncryptInternalTraffic);
        Assert.Null(listener.Certificates);
        Assert.Null(connector.Certificates);
    }

    [Fact]
    public void ApplyTo_sets_Enabled_back_over_Disabled()
    {
        var listener = new TransportListenerOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled };
        var connector = new TransportConnectorOptions { EncryptInternalTraffic = EncryptInternalTraffic.Disabled };

        BrokerConfig.Default.ApplyTo(listener);
        BrokerConfig.Default.ApplyTo(connector);

        Assert.Equal(EncryptInternalTraffic.Enabled, listener.EncryptInternalTraffic);
        Assert.Equal(EncryptInternalTraffic.Enabled, connector.EncryptInternalTraffic);
    }

    [Fact]
    public void ApplyTo_refuses_null_options()
    {
        Assert.Throws<ArgumentNullException>(() => BrokerConfig.Default.ApplyTo((TransportListenerOptions)null!));
        Assert.Throws<ArgumentNullException>(() => BrokerConfig.Default.ApplyTo((TransportConnectorOptions)null!));
    }

    [Fact]
    public void EnsureSupported_refuses_Ed25519_with_encryption_Enabled_saying_what_works()
    {
        var config = new BrokerConfig(EncryptInternalTraffic.Enabled, Ed25519Certs);

        var e = Assert.Throws<BrokerConfigException>(config.EnsureSupported);

        var error = Assert.Single(e.Errors);
        Assert.Equal("advanced.internalCerts.privateKey.algorithm", error.Path);
        Assert.Contains(".NET's X509 certificates and SslStream do not support Ed25519", error.Message, StringComparison.Ordinal);
        Assert.Contains("Ec256, Ec384, Ec521, Rsa2048, Rsa4096, Rsa8192", error.Message, StringComparison.Ordinal);
        Assert.Throws<BrokerConfigException>(() => config.ApplyTo(new TransportListenerOptions()));
        Assert.Throws<BrokerConfigException>(() => config.ApplyTo(new TransportConnectorOptions()));
    }

    [Fact]
    public void EnsureSupported_passes_Ed25519_with_encryption_Disabled_and_every_other_algorithm()
    {
        // The control, so that the passes below mean something: Ed25519 with encryption Enabled is refused.
        Assert.Throws<BrokerConfigException>(() => new BrokerConfig(EncryptInternalTraffic.Enabled, Ed25519Certs).EnsureSupported());
        new BrokerConfig(EncryptInternalTraffic.Disabled, Ed25519Certs).EnsureSupported();
        foreach (var algorithm in Enum.GetValues<PrivateKeyAlgorithm>().Where(a => a != PrivateKeyAlgorithm.Ed25519))
        {
            var certs = new InternalCertsConfig(Ed25519Certs.Duration, Ed25519Certs.RenewBefore, algorithm, Ed25519Certs.RotationPolicy);
            new BrokerConfig(EncryptInternalTraffic.Enabled, certs).EnsureSupported();
        }
    }

    [Fact]
    public void The_constructors_enforce_cert_managers_limits()
    {
        var hour = TimeSpan.FromHours(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InternalCertsConfig(hour - TimeSpan.FromTicks(1), null, PrivateKeyAlgorithm.Ec256, RotationPolicy.Always));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InternalCertsConfig(hour, TimeSpan.FromMinutes(4), PrivateKeyAlgorithm.Ec256, RotationPolicy.Always));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InternalCertsConfig(hour, hour, PrivateKeyAlgorithm.Ec256, RotationPolicy.Always));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InternalCertsConfig(hour, null, (PrivateKeyAlgorithm)42, RotationPolicy.Always));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InternalCertsConfig(hour, null, PrivateKeyAlgorithm.Ec256, (RotationPolicy)42));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BrokerConfig((EncryptInternalTraffic)42));

        var atLimits = new InternalCertsConfig(hour, TimeSpan.FromMinutes(5), PrivateKeyAlgorithm.Ec256, RotationPolicy.Never);
        Assert.Equal(hour, atLimits.Duration);
        Assert.Equal(TimeSpan.FromMinutes(5), atLimits.RenewBefore);
    }

    [Fact]
    public void InternalCertsSpecified_says_whether_the_settings_were_given()
    {
        Assert.False(new BrokerConfig().InternalCertsSpecified);
        Assert.Same(InternalCertsConfig.Default, new BrokerConfig().InternalCerts);
        Assert.True(new BrokerConfig(EncryptInternalTraffic.Enabled, InternalCertsConfig.Default).InternalCertsSpecified);
    }

    [Fact]
    public void RenewalTime_is_notAfter_minus_renewBefore()
    {
        var certs = new InternalCertsConfig(TimeSpan.FromHours(240), TimeSpan.FromMinutes(45), PrivateKeyAlgorithm.Ec256, RotationPolicy.Always);
        var notBefore = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(notBefore.AddHours(240).AddMinutes(-45), certs.RenewalTime(notBefore, notBefore.AddHours(240)));
    }

    [Fact]
    public void RenewalTime_without_renewBefore_is_at_two_thirds_of_the_lifetime()
    {
        var notBefore = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(notBefore.AddDays(60), InternalCertsConfig.Default.RenewalTime(notBefore, notBefore.AddDays(90)));
    }

    [Fact]
    public void RenewalTime_falls_back_to_two_thirds_when_the_issued_lifetime_is_not_longer_than_renewBefore()
    {
        // A leaf cut short by its CA's expiry: 30 minutes issued, renewBefore 45m.
        var certs = new InternalCertsConfig(TimeSpan.FromHours(240), TimeSpan.FromMinutes(45), PrivateKeyAlgorithm.Ec256, RotationPolicy.Always);
        var notBefore = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(notBefore.AddMinutes(20), certs.RenewalTime(notBefore, notBefore.AddMinutes(30)));
    }

    [Fact]
    public void RenewalTime_is_truncated_to_the_second_as_cert_managers()
    {
        var notBefore = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        // 1h + 1s: a third is 1200.333...s, so the renewal falls at 2400.666...s and is truncated to 2400s.
        var renewal = InternalCertsConfig.Default.RenewalTime(notBefore, notBefore.AddSeconds(3601));

        Assert.Equal(notBefore.AddSeconds(2400), renewal);
    }

    [Fact]
    public void RenewalTime_refuses_a_certificate_that_ends_before_it_starts()
    {
        var now = DateTimeOffset.UnixEpoch;

        Assert.Throws<ArgumentException>(() => InternalCertsConfig.Default.RenewalTime(now, now));
    }
}
