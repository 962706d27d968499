using System.Text;
using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace Broker.Transport.Hosting.Tests.Kubernetes;

/// <summary>
/// docs/kubernetes read as a cluster would read it: the core objects with the official client's models (strict: a
/// misspelled field fails), cert-manager's and trust-manager's resources as plain YAML; then checked against what
/// the Secret folder source and the Hosting options read: mounts, paths, keys, names, ports and identities.
/// </summary>
public sealed class ManifestTests
{
    private static readonly Lazy<Manifests> All = new(Manifests.Load);

    private static Manifests M => All.Value;

    [Fact]
    public void Every_manifest_reads_with_the_official_models_and_the_kustomization_lists_every_file()
    {
        Assert.Single(M.Of<V1Namespace>());
        Assert.Equal(["broker-backend", "broker-frontend"], M.Of<V1ServiceAccount>().Select(a => a.Name()).Order());
        Assert.Equal(["broker-backend", "broker-frontend"], M.Of<V1Deployment>().Select(d => d.Name()).Order());
        Assert.Single(M.Of<V1Service>());
        Assert.Single(M.Of<V1NetworkPolicy>());
        Assert.Equal(3, M.Of<V1ConfigMap>().Count);
        Assert.Equal(3, M.Custom("Certificate").Count);
        Assert.Equal(2, M.Custom("ClusterIssuer").Count);
        Assert.Single(M.Custom("Bundle"));

        var kustomization = M.Kustomization;
        Assert.Equal(M.Files.Order(StringComparer.Ordinal), kustomization.List("resources").Cast<string>().Order(StringComparer.Ordinal));
    }

    public static TheoryData<string> Roles => ["backend", "frontend"];

    [Theory]
    [MemberData(nameof(Roles))]
    public void Each_role_mounts_what_its_Hosting_settings_name_whole_and_read_only(string role)
    {
        var (deployment, pod, container) = M.Role(role);
        var options = M.Settings(role, out var settingsMount);
        Assert.Equal("/etc/broker/settings/appsettings.json", settingsMount);

        // The Secret: the role's Certificate's Secret, whole (its tls.crt, tls.key and ca.crt, the names the source reads).
        var certificate = M.Certificate($"broker-{role}");
        var secretVolume = Assert.Single(pod.Volumes, v => v.Secret?.SecretName == certificate.String("spec", "secretName"));
        Assert.Null(secretVolume.Secret.Items);
        var folder = role == "backend" ? options.BackendCertificateFolder : options.FrontendCertificateFolder;
        Assert.Equal(MountPath(container, secretVolume.Name), folder);
        Assert.Equal(["ca.crt", "tls.crt", "tls.key"], new[] { PemCredentials.CertificateFileName, PemCredentials.KeyFileName, PemCredentials.TrustBundleFileName }.Order(StringComparer.Ordinal));

        // The trust bundle: the ConfigMap trust-manager writes (named after the Bundle), whose key the source reads in the folder.
        var bundle = Assert.Single(M.Custom("Bundle"));
        var trustVolume = Assert.Single(pod.Volumes, v => v.ConfigMap?.Name == bundle.String("metadata", "name"));
        Assert.Equal(MountPath(container, trustVolume.Name), options.TrustBundlePath);
        Assert.Equal(PemCredentials.TrustBundleFileName, bundle.String("spec", "target", "configMap", "key"));
        Assert.Null(trustVolume.ConfigMap.Items);

        // The broker config file: a key of the broker-config ConfigMap, in its mount, valid for the library's parser.
        var configVolume = Assert.Single(pod.Volumes, v => v.ConfigMap?.Name == "broker-config");
        Assert.Equal(MountPath(container, configVolume.Name), Path.GetDirectoryName(options.ConfigFile));
        var json = M.ConfigMap("broker-config").Data[Path.GetFileName(options.ConfigFile!)];
        Assert.Equal(Security.EncryptInternalTraffic.Enabled, BrokerConfigFile.Parse(json).Config.EncryptInternalTraffic);

        // Every mount whole (subPath never updates) and read-only; the default handover.
        Assert.All(container.VolumeMounts, m => Assert.True(m.SubPath is null && m.SubPathExpr is null, $"{deployment.Name()} mounts {m.Name} with subPath: it would never update."));
        Assert.All(container.VolumeMounts, m => Assert.True(m.ReadOnlyProperty, $"{deployment.Name()} mounts {m.Name} writable."));
        Assert.Equal(new SecretFolderOptions().RootHandover, options.RootHandover);
    }

    [Fact]
    public void The_backends_names_ports_and_identities_agree_with_the_frontends_settings_and_the_certificates()
    {
        var service = Assert.Single(M.Of<V1Service>());
        var serviceName = $"{service.Name()}.{service.Namespace()}.svc";
        var port = Assert.Single(service.Spec.Ports);
        var (_, backendPod, backend) = M.Role("backend");
        var (_, frontendPod, _) = M.Role("frontend");
        var backendOptions = M.Settings("backend", out _);
        var frontendOptions = M.Settings("frontend", out _);

        // The frontend dials the Service and checks the backend's certificate for its name.
        Assert.Contains(serviceName, M.Certificate("broker-backend").List("spec", "dnsNames").Cast<string>());
        Assert.Equal(serviceName, frontendOptions.ServerIdentity);
        Assert.Equal($"{serviceName}:{port.Port}", M.SettingsJson("frontend")["Backend"]);

        // The Service reaches the backend's listener: its selector, its target port, the Listen setting.
        Assert.All(service.Spec.Selector, label => Assert.Equal(label.Value, M.Labels("backend")[label.Key]));
        var internalPort = Assert.Single(backend.Ports, p => p.Name == port.TargetPort.Value);
        Assert.Equal(System.Net.IPEndPoint.Parse(backendOptions.Listen!).Port, internalPort.ContainerPort);
        Assert.False(backendOptions.Connector);

        // The backend allows the frontend's identity, which its Certificate carries and its ServiceAccount names.
        var frontendUris = M.Certificate("broker-frontend").List("spec", "uris").Cast<string>().ToList();
        Assert.Equal(frontendUris, backendOptions.AllowedClientIdentities);
        foreach (var (role, pod) in new[] { ("backend", backendPod), ("frontend", frontendPod) })
        {
            var spiffe = $"spiffe://cluster.local/ns/{M.Role(role).Deployment.Namespace()}/sa/{pod.ServiceAccountName}";
            Assert.Contains(spiffe, M.Certificate($"broker-{role}").List("spec", "uris").Cast<string>());
            Assert.Contains(M.Of<V1ServiceAccount>(), a => a.Name() == pod.ServiceAccountName && a.Namespace() == M.Role(role).Deployment.Namespace());
        }
    }

    [Fact]
    public void The_certificates_have_explicit_usages_the_internal_issuer_and_the_broker_configs_internalCerts()
    {
        var config = BrokerConfigFile.Parse(M.ConfigMap("broker-config").Data["broker.json"]).Config.InternalCerts;
        foreach (var (name, usage) in new[] { ("broker-backend", "server auth"), ("broker-frontend", "client auth") })
        {
            var certificate = M.Certificate(name);
            var usages = certificate.List("spec", "usages").Cast<string>().ToList();
            Assert.Contains(usage, usages);
            Assert.Contains("digital signature", usages);
            Assert.Equal(("ClusterIssuer", "broker-internal"), (certificate.String("spec", "issuerRef", "kind"), certificate.String("spec", "issuerRef", "name")));
            Assert.Equal(config.Duration, GoDuration.Parse(certificate.String("spec", "duration")!));
            Assert.Equal(config.RenewBefore, GoDuration.Parse(certificate.String("spec", "renewBefore")!));
            Assert.Equal((PrivateKeyAlgorithm.Ec256, "ECDSA", "256"), (config.Algorithm, certificate.String("spec", "privateKey", "algorithm"), certificate.String("spec", "privateKey", "size")));
            Assert.Equal(config.RotationPolicy.ToString(), certificate.String("spec", "privateKey", "rotationPolicy"));
        }

        // The CA issuer signs with the root the Bundle distributes, from trust-manager's trust namespace.
        var issuer = Assert.Single(M.Custom("ClusterIssuer"), i => i.String("metadata", "name") == "broker-internal");
        var ca = M.Certificate("broker-internal-ca");
        Assert.Equal("cert-manager", ca.String("metadata", "namespace"));
        Assert.Equal("true", ca.String("spec", "isCA"), ignoreCase: true);
        Assert.Equal(ca.String("spec", "secretName"), issuer.String("spec", "ca", "secretName"));
        var source = (Dictionary<object, object>)Assert.Single(Assert.Single(M.Custom("Bundle")).List("spec", "sources"));
        Assert.Equal(ca.String("spec", "secretName"), source.String("secret", "name"));
        Assert.Equal("ca.crt", source.String("secret", "key"));

        // The Bundle's ConfigMap reaches the broker's namespace.
        var selector = (Dictionary<object, object>)Assert.Single(M.Custom("Bundle")).Get("spec", "target", "namespaceSelector", "matchLabels")!;
        var ns = Assert.Single(M.Of<V1Namespace>());
        Assert.All(selector, label => Assert.Equal(label.Value, ns.Metadata.Labels[(string)label.Key]));
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public void Each_role_reads_its_Secret_as_a_non_root_group_member_and_probes_its_health_port(string role)
    {
        var (deployment, pod, container) = M.Role(role);
        var secret = Assert.Single(pod.Volumes, v => v.Secret is not null).Secret;
        var mode = secret.DefaultMode ?? 420;
        const int GroupRead = 0x20; // 0040
        const int OtherAny = 0x7; // 0007

        // kubelet gives the Secret's files the pod's fsGroup: group read lets the non-root process read its key; nobody else can.
        Assert.True((mode & GroupRead) != 0, $"{deployment.Name()}'s Secret mode {Convert.ToString(mode, 8)} has no group read: a non-root user could not read tls.key.");
        Assert.Equal(0, mode & OtherAny);
        Assert.NotNull(pod.SecurityContext.FsGroup);
        Assert.True(pod.SecurityContext.RunAsNonRoot);
        Assert.NotEqual(0, pod.SecurityContext.RunAsUser);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);

        // The probes call the health endpoints on the port ASP.NET Core listens on (Urls).
        var health = Assert.Single(container.Ports, p => p.Name == "health");
        Assert.Equal(new Uri((string)M.SettingsJson(role)["Urls"]!).Port, health.ContainerPort);
        foreach (var probe in new[] { container.ReadinessProbe, container.LivenessProbe })
        {
            Assert.Equal("health", probe.HttpGet.Port.Value);
        }

        Assert.Equal(["/healthz/live", "/healthz/ready"], new[] { container.ReadinessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Path }.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_network_policy_opens_the_internal_port_to_frontend_pods_only()
    {
        var policy = Assert.Single(M.Of<V1NetworkPolicy>());
        var (_, backendPod, _) = M.Role("backend");
        var (_, frontendPod, _) = M.Role("frontend");
        Assert.All(policy.Spec.PodSelector.MatchLabels, l => Assert.Equal(l.Value, M.Labels("backend")[l.Key]));
        Assert.Contains("Ingress", policy.Spec.PolicyTypes);

        // Every rule names its ports (a rule without would open every port), and the one with the internal port
        // admits only pods that carry the frontend's labels, in the policy's own namespace.
        Assert.All(policy.Spec.Ingress, rule => Assert.NotEmpty(rule.Ports));
        var internalRules = policy.Spec.Ingress.Where(r => r.Ports.Any(p => p.Port.Value == "internal" || p.Port.Value == "5100")).ToList();
        var rule = Assert.Single(internalRules);
        var peer = Assert.Single(rule.FromProperty);
        Assert.Null(peer.NamespaceSelector);
        Assert.Null(peer.IpBlock);
        Assert.All(peer.PodSelector.MatchLabels, l => Assert.Equal(l.Value, M.Labels("frontend")[l.Key]));
        Assert.DoesNotContain(peer.PodSelector.MatchLabels, l => M.Labels("backend").TryGetValue(l.Key, out var v) && v == l.Value);
    }

    private static string MountPath(V1Container container, string volume) => Assert.Single(container.VolumeMounts, m => m.Name == volume).MountPath;

    /// <summary>The manifests in docs/kubernetes, loaded once.</summary>
    private sealed class Manifests
    {
        private static readonly Dictionary<string, Type> CustomResources = new()
        {
            ["cert-manager.io/v1/Certificate"] = typeof(Dictionary<object, object>),
            ["cert-manager.io/v1/ClusterIssuer"] = typeof(Dictionary<object, object>),
            ["trust.cert-manager.io/v1alpha1/Bundle"] = typeof(Dictionary<object, object>),
        };

        private readonly List<object> _objects;

        private Manifests(List<object> objects, IReadOnlyList<string> files, Dictionary<object, object> kustomization)
        {
            _objects = objects;
            Files = files;
            Kustomization = kustomization;
        }

        public IReadOnlyList<string> Files { get; }

        public Dictionary<object, object> Kustomization { get; }

        public static Manifests Load()
        {
            var folder = Path.Combine(AppContext.BaseDirectory, "Kubernetes", "Manifests");
            var files = Directory.GetFiles(folder, "*.yaml").Select(Path.GetFileName).OfType<string>().Where(f => f != "kustomization.yaml").ToList();
            Assert.NotEmpty(files);
            var objects = new List<object>();
            foreach (var file in files)
            {
                // Strict: a field the official model does not have (a typo, a wrong indent) fails the load.
                objects.AddRange(KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(folder, file)), CustomResources, strict: true));
            }

            var kustomization = KubernetesYaml.Deserialize<Dictionary<object, object>>(File.ReadAllText(Path.Combine(folder, "kustomization.yaml")));
            return new Manifests(objects, files, kustomization);
        }

        public List<T> Of<T>() => [.. _objects.OfType<T>()];

        public List<Dictionary<object, object>> Custom(string kind)
            => [.. _objects.OfType<Dictionary<object, object>>().Where(o => o.String("kind") == kind)];

        public Dictionary<object, object> Certificate(string name) => Assert.Single(Custom("Certificate"), c => c.String("metadata", "name") == name);

        public V1ConfigMap ConfigMap(string name) => Assert.Single(Of<V1ConfigMap>(), c => c.Name() == name);

        public (V1Deployment Deployment, V1PodSpec Pod, V1Container Container) Role(string role)
        {
            var deployment = Assert.Single(Of<V1Deployment>(), d => d.Name() == $"broker-{role}");
            return (deployment, deployment.Spec.Template.Spec, Assert.Single(deployment.Spec.Template.Spec.Containers));
        }

        /// <summary>The labels the role's pods carry.</summary>
        public IDictionary<string, string> Labels(string role) => Role(role).Deployment.Spec.Template.Metadata.Labels;

        /// <summary>The role's appsettings.json, as the host binds its BrokerTransport section.</summary>
        public BrokerTransportOptions Settings(string role, out string mountedAt)
        {
            var (_, pod, container) = Role(role);
            var volume = Assert.Single(pod.Volumes, v => v.ConfigMap?.Name == $"broker-{role}-settings");
            var key = Assert.Single(ConfigMap(volume.ConfigMap.Name).Data.Keys);
            mountedAt = Path.Combine(MountPath(container, volume.Name), key);
            var options = new BrokerTransportOptions();
            Configuration(role).GetSection("BrokerTransport").Bind(options);
            return options;
        }

        public IConfigurationRoot Configuration(string role)
            => new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(ConfigMap($"broker-{role}-settings").Data["appsettings.json"]))).Build();

        public IConfiguration SettingsJson(string role) => Configuration(role);
    }
}

/// <summary>Reading the untyped YAML of the custom resources.</summary>
internal static class Yaml
{
    public static object? Get(this Dictionary<object, object> node, params string[] path)
    {
        object? at = node;
        foreach (var key in path)
        {
            if (at is not Dictionary<object, object> map || !map.TryGetValue(key, out at))
            {
                return null;
            }
        }

        return at;
    }

    /// <summary>A scalar as text (YAML's numbers and booleans may come typed).</summary>
    public static string? String(this Dictionary<object, object> node, params string[] path)
        => node.Get(path) is { } value and not Dictionary<object, object> and not List<object> ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    public static List<object> List(this Dictionary<object, object> node, params string[] path)
        => node.Get(path) as List<object> ?? throw new Xunit.Sdk.XunitException($"No list at {string.Join('.', path)}.");
}
