using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Broker.Transport.Framing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Transport.Hosting.Tests.Hosting;

/// <summary>A generic host built with AddBrokerTransport: real config files, sockets, certificates.</summary>
public class HostedTransportTests
{
    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_host_configured_from_a_broker_config_file_starts_and_serves_frames_with_its_certificates()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        var file = folder.Write("broker.json", """
            {
              "advanced": {
                "encryptInternalTraffic": "Enabled",
                "internalCerts": { "duration": "240h", "renewBefore": "45m", "privateKey": { "algorithm": "Ec384", "rotationPolicy": "Always" } }
              }
            }
            """);
        using var host = Build(new()
        {
            ["BrokerTransport:ConfigFile"] = file,
            ["BrokerTransport:Listen"] = "127.0.0.1:0",
        });

        await host.StartAsync(ct);

        var listener = host.Services.GetRequiredService<TransportListener>();
        var connector = host.Services.GetRequiredService<TransportConnector>();
        Assert.Equal(Security.EncryptInternalTraffic.Enabled, listener.EncryptInternalTraffic);
        await using var frontend = await connector.ConnectAsync(listener.LocalEndPoint, ct).AsTask().Guarded(ct);
        await using var backend = await listener.AcceptAsync(ct).AsTask().Guarded(ct);
        Assert.NotNull(backend);
        await frontend.Output.WriteFrameAsync("plant-7/line-3/press-12/temperature"u8.ToArray(), ct);
        var frames = backend.CreateFrameReader();
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.Equal("plant-7/line-3/press-12/temperature"u8.ToArray(), frames.Current.ToArray());

        // The file's internalCerts reached the embedded issuer: a 240h leaf on a P-384 key.
        var peer = frontend.Security.PeerCertificate!;
        Assert.Equal(TimeSpan.FromHours(240), peer.NotAfter - peer.NotBefore);
        Assert.Equal(384, peer.Certificate.GetECDsaPublicKey()!.KeySize);

        await host.StopAsync(ct);
        Assert.Null(await listener.AcceptAsync(ct).AsTask().Guarded(ct));
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task MaxConnectionAge_and_DrainGrace_from_configuration_bound_both_sides_connections()
    {
        var ct = TestContext.Current.CancellationToken;
        using var host = Build(new()
        {
            ["BrokerTransport:Listen"] = "127.0.0.1:0",
            ["BrokerTransport:MaxConnectionAge"] = "00:10:00",
            ["BrokerTransport:DrainGrace"] = "00:00:05",
        });
        await host.StartAsync(ct);
        var listener = host.Services.GetRequiredService<TransportListener>();
        var opened = DateTimeOffset.UtcNow;
        await using var frontend = await host.Services.GetRequiredService<TransportConnector>().ConnectAsync(listener.LocalEndPoint, ct).AsTask().Guarded(ct);
        await using var backend = await listener.AcceptAsync(ct).AsTask().Guarded(ct);

        // The embedded issuer's leaves last far longer: the age (plus or minus 10 %) and the grace after it bound each side.
        foreach (var side in new[] { frontend, backend! })
        {
            Assert.InRange(side.ClosesAt!.Value - opened, TimeSpan.FromMinutes(9) + TimeSpan.FromSeconds(4), TimeSpan.FromMinutes(11) + TimeSpan.FromSeconds(6));
        }

        await host.StopAsync(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_zero_MaxConnectionAge_and_a_negative_DrainGrace_are_refused_at_start()
    {
        var ct = TestContext.Current.CancellationToken;
        using var host = Build(new()
        {
            ["BrokerTransport:Listen"] = "127.0.0.1:0",
            ["BrokerTransport:MaxConnectionAge"] = "00:00:00",
            ["BrokerTransport:DrainGrace"] = "-00:00:01",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));
        Assert.Equal(
            [
                "MaxConnectionAge is 00:00:00; it must be positive, or left out for no limit.",
                "DrainGrace is -00:00:01; it must be zero or more.",
            ],
            error.Failures);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_host_refuses_to_start_on_an_invalid_broker_config_file_with_the_parsers_message()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        var file = folder.Write("broker.json", """
            { "advanced": { "encryptInternalTraffic": "Enabeld", "internalCerts": { "duration": "30m", "renewBefore": "45m", "privateKey": { "algorithm": "Ec256", "rotationPolicy": "Always" } } } }
            """);
        var parser = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Load(file));
        using var host = Build(new()
        {
            ["BrokerTransport:ConfigFile"] = file,
            ["BrokerTransport:Listen"] = "127.0.0.1:0",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));

        Assert.Equal(parser.Message, Assert.Single(error.Failures));
        Assert.Contains("advanced.encryptInternalTraffic", error.Message, StringComparison.Ordinal);
        Assert.Contains("advanced.internalCerts.duration: \"30m\" is too short", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFullPath(file), error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task The_broker_config_given_inline_in_configuration_is_checked_by_the_same_parser()
    {
        var ct = TestContext.Current.CancellationToken;
        var parser = Assert.Throws<BrokerConfigException>(() => BrokerConfigFile.Parse("""
            { "advanced": { "internalCerts": { "duration": "240h", "renewBefore": "1m", "privateKey": { "algorithm": "Ed25519", "rotationPolicy": "Always" } } } }
            """));
        using var host = Build(new()
        {
            ["BrokerTransport:Broker:advanced:internalCerts:duration"] = "240h",
            ["BrokerTransport:Broker:advanced:internalCerts:renewBefore"] = "1m",
            ["BrokerTransport:Broker:advanced:internalCerts:privateKey:algorithm"] = "Ed25519",
            ["BrokerTransport:Broker:advanced:internalCerts:privateKey:rotationPolicy"] = "Always",
            ["BrokerTransport:Listen"] = "here",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));

        Assert.Equal([parser.Message, "Listen is 'here'; it must be an address and a port, such as 0.0.0.0:5100 or [::]:5100."], error.Failures);
        Assert.Contains("advanced.internalCerts.renewBefore", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_host_refuses_to_start_when_a_certificate_folder_is_missing_or_nothing_is_asked_for()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        var missing = Path.Combine(folder.Path, "backend");
        using var host = Build(new()
        {
            ["BrokerTransport:Connector"] = "false",
            ["BrokerTransport:BackendCertificateFolder"] = missing,
            ["BrokerTransport:HandshakeTimeout"] = "00:00:00",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));

        Assert.Equal(
            [
                "Neither a listener (Listen) nor a connector (Connector) is asked for; set at least one.",
                "HandshakeTimeout is 00:00:00; it must be positive.",
                $"BackendCertificateFolder is '{missing}', which does not exist. It should be a mounted Kubernetes TLS Secret (tls.crt, tls.key, ca.crt).",
            ],
            error.Failures);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_trust_bundle_that_is_missing_or_has_no_certificate_folder_and_a_negative_handover_are_refused_at_start()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        var missing = Path.Combine(folder.Path, "trust");
        using (var host = Build(new()
        {
            ["BrokerTransport:Listen"] = "127.0.0.1:0",
            ["BrokerTransport:BackendCertificateFolder"] = folder.Path,
            ["BrokerTransport:TrustBundlePath"] = missing,
            ["BrokerTransport:RootHandover"] = "-00:00:01",
        }))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));
            Assert.Equal(
                [
                    $"TrustBundlePath is '{missing}', which does not exist. It should be a PEM file of roots, or the folder a ConfigMap with one (a trust-manager Bundle's target) is mounted at.",
                    "RootHandover is -00:00:01; it must be zero (switch at once) or positive.",
                ],
                error.Failures);
        }

        using (var host = Build(new() { ["BrokerTransport:Listen"] = "127.0.0.1:0", ["BrokerTransport:TrustBundlePath"] = folder.Path }))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));
            Assert.Equal(
                ["TrustBundlePath is set but no certificate folder is (BackendCertificateFolder, FrontendCertificateFolder): the embedded issuer keeps its own trust bundle. Set a folder, or leave TrustBundlePath out."],
                error.Failures);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Empty_values_and_identities_that_name_no_exact_peer_are_refused_at_start_naming_their_keys()
    {
        // An empty value from configuration used to reach Path.GetFullPath and crash the validator with ArgumentException.
        var ct = TestContext.Current.CancellationToken;
        using var host = Build(new()
        {
            ["BrokerTransport:Listen"] = "127.0.0.1:0",
            ["BrokerTransport:ConfigFile"] = "",
            ["BrokerTransport:BackendCertificateFolder"] = "",
            ["BrokerTransport:FrontendCertificateFolder"] = " ",
            ["BrokerTransport:AllowedClientIdentities:0"] = "127.1",
            ["BrokerTransport:ServerIdentity"] = "*.broker.svc",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(ct));

        Assert.Equal(
            [
                "ConfigFile is empty; it must name the broker config file, such as /etc/broker/broker.json (or be left out).",
                "BackendCertificateFolder is empty; it must name a mounted Kubernetes TLS Secret (tls.crt, tls.key, ca.crt), or be left out for the embedded issuer.",
                "FrontendCertificateFolder is empty; it must name a mounted Kubernetes TLS Secret (tls.crt, tls.key, ca.crt), or be left out for the embedded issuer.",
                "AllowedClientIdentities entry ('127.1') reads as the IP address 127.0.0.1 but is not written in canonical form; write 127.0.0.1. Identities match exactly.",
                "ServerIdentity ('*.broker.svc') holds a wildcard; an identity names one peer exactly (a certificate's wildcard name never satisfies it).",
            ],
            error.Failures);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task A_plaintext_host_serves_frames_without_certificates()
    {
        var ct = TestContext.Current.CancellationToken;
        using var host = Build(new()
        {
            ["BrokerTransport:Broker:advanced:encryptInternalTraffic"] = "Disabled",
            ["BrokerTransport:Listen"] = "127.0.0.1:0",
        });

        await host.StartAsync(ct);

        var listener = host.Services.GetRequiredService<TransportListener>();
        await using var frontend = await host.Services.GetRequiredService<TransportConnector>().ConnectAsync(listener.LocalEndPoint, ct).AsTask().Guarded(ct);
        await using var backend = await listener.AcceptAsync(ct).AsTask().Guarded(ct) ?? throw new InvalidOperationException("The listener closed.");
        await frontend.Output.WriteFrameAsync("x"u8.ToArray(), ct);
        var frames = backend.CreateFrameReader();
        Assert.True(await frames.ReadFrameAsync(ct).Guarded(ct));
        Assert.False(backend.Security.IsEncrypted);
        await host.StopAsync(ct);
    }

    [Fact(Timeout = TestTimeouts.Hang)]
    public async Task Options_without_a_setting_are_adjusted_in_code_after_the_settings_and_the_broker_config()
    {
        var ct = TestContext.Current.CancellationToken;
        TransportListenerOptions? adjusted = null;
        using var host = Build(
            new()
            {
                ["BrokerTransport:Listen"] = "127.0.0.1:0",
                ["BrokerTransport:HandshakeTimeout"] = "00:00:07",
            },
            services => services.Configure<BrokerTransportOptions>(o =>
            {
                o.ConfigureListener = listener =>
                {
                    // Runs after the settings were applied, so it sees them, and its changes stand.
                    Assert.Equal(TimeSpan.FromSeconds(7), listener.HandshakeTimeout);
                    listener.MaxPendingHandshakes = 3;
                    listener.Socket.IdleTimeout = TimeSpan.FromMinutes(5);
                    adjusted = listener;
                };
                o.ConfigureConnector = connector => connector.ServerIdentity = "backend.elsewhere.svc";
            }));

        await host.StartAsync(ct);

        var listener = host.Services.GetRequiredService<TransportListener>();
        var connector = host.Services.GetRequiredService<TransportConnector>();
        Assert.NotNull(adjusted);
        Assert.NotNull(adjusted.Certificates); // the callback came after the certificates were set
        var refused = await Assert.ThrowsAsync<HandshakeException>(() => connector.ConnectAsync(listener.LocalEndPoint, ct).AsTask().Guarded(ct));
        Assert.Equal(HandshakeFailureReason.IdentityNotAllowed, refused.Reason);
        Assert.Contains("backend.elsewhere.svc", refused.Message, StringComparison.Ordinal);
        await host.StopAsync(ct);
    }

    internal static IHost Build(Dictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        services?.Invoke(builder.Services);
        builder.Services.AddBrokerTransport(builder.Configuration.GetSection(BrokerTransportServiceCollectionExtensions.DefaultSectionName));
        return builder.Build();
    }
}
