using System.Text.Json;
using Broker.Transport.Certificates;
using Broker.Transport.Security;

namespace Broker.Transport.Configuration;

/// <summary>
/// Walks a parsed broker config file, collecting every error and warning with its JSON path, and builds the
/// <see cref="BrokerConfig"/> when there is no error. One instance reads one file.
/// </summary>
/// <remarks>
/// The file is the Broker resource's properties (what <c>az iot ops create --broker-config-file</c> takes),
/// optionally wrapped in <c>"properties"</c>. This transport reads <c>advanced.encryptInternalTraffic</c> and
/// <c>advanced.internalCerts</c>. The resource's other properties configure other parts of the broker and are
/// accepted without being looked at: <c>advanced.clients</c> (the MQTT clients' limits) and, at the top,
/// <see cref="OtherBrokerProperties"/> (from the Microsoft.IoTOperations/instances/brokers API). Any other
/// name is an error, named with its path.
/// </remarks>
internal sealed partial class BrokerConfigReader
{
    /// <summary>The Broker resource's top-level properties besides <c>advanced</c> (API 2025-10-01): none configures this transport.</summary>
    internal static readonly string[] OtherBrokerProperties =
        ["cardinality", "diagnostics", "diskBackedMessageBuffer", "generateResourceLimits", "memoryProfile", "persistence"];

    private const string Properties = "properties";
    private const string Advanced = "advanced";

    private static readonly string[] RootNames = [Advanced, Properties];
    private static readonly string[] AdvancedNames = ["encryptInternalTraffic", "internalCerts"];
    private static readonly string[] AdvancedIgnoredNames = ["clients"];
    private static readonly string[] InternalCertsNames = ["duration", "renewBefore", "privateKey"];
    private static readonly string[] PrivateKeyNames = ["algorithm", "rotationPolicy"];

    private const string AllFourRequired =
        "is missing: once \"internalCerts\" is given, it needs all four of duration, renewBefore, privateKey.algorithm and privateKey.rotationPolicy";

    private readonly List<BrokerConfigDiagnostic> errors = [];
    private readonly List<BrokerConfigDiagnostic> warnings = [];

    /// <summary>The errors found, field by field; the file is usable only when there are none.</summary>
    public IReadOnlyList<BrokerConfigDiagnostic> Errors => errors;

    /// <summary>The warnings: values accepted that have no effect, or that deserve a second look.</summary>
    public IReadOnlyList<BrokerConfigDiagnostic> Warnings => warnings;

    /// <summary>Reads the file's root; returns the configuration, or null when <see cref="Errors"/> is not empty.</summary>
    public BrokerConfig? Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            Error(string.Empty, $"The file must hold a JSON object, such as {{\"advanced\": {{\"encryptInternalTraffic\": \"Enabled\"}}}}; found {Describe(root)}.");
            return null;
        }

        var bodyPath = string.Empty;
        var body = ReadObject(root, bodyPath, RootNames, OtherBrokerProperties);
        if (body.TryGetValue(Properties, out var wrapped))
        {
            // The wrapper is stripped: everything belongs inside it, nothing beside it.
            foreach (var (name, _) in body.Where(p => p.Key != Properties))
            {
                Error(PathOf(string.Empty, name), $"stands beside \"properties\": a file that wraps its content in \"properties\" holds everything inside it.");
            }

            bodyPath = Properties;
            body = ExpectObject(wrapped, bodyPath)
                ? ReadObject(wrapped, bodyPath, [Advanced], OtherBrokerProperties)
                : [];
        }

        var encrypt = (EncryptInternalTraffic?)EncryptInternalTraffic.Enabled;
        var certs = new InternalCertsFields();
        var advancedPath = PathOf(bodyPath, Advanced);
        if (body.TryGetValue(Advanced, out var advanced) && ExpectObject(advanced, advancedPath))
        {
            var fields = ReadObject(advanced, advancedPath, AdvancedNames, AdvancedIgnoredNames);
            if (fields.TryGetValue("encryptInternalTraffic", out var value))
            {
                encrypt = ReadEnum<EncryptInternalTraffic>(value, PathOf(advancedPath, "encryptInternalTraffic"));
            }

            if (fields.TryGetValue("internalCerts", out value))
            {
                certs = ReadInternalCerts(value, PathOf(advancedPath, "internalCerts"));
            }
        }

        // Ed25519 is checked with the rest, so that one run reports everything; unless the file clearly
        // disables encryption, which makes internalCerts moot.
        if (certs.Algorithm is { } algorithm && encrypt != EncryptInternalTraffic.Disabled
            && BrokerConfig.Unsupported(EncryptInternalTraffic.Enabled, algorithm, certs.AlgorithmPath) is { } unsupported)
        {
            errors.Add(unsupported);
        }

        if (errors.Count > 0 || encrypt is not { } mode)
        {
            return null;
        }

        if (mode == EncryptInternalTraffic.Disabled)
        {
            Warn(PathOf(advancedPath, "encryptInternalTraffic"), "is Disabled: internal traffic between frontend and backend travels in plaintext. Keep it Enabled outside controlled, non-production test environments.");
            if (certs.Given)
            {
                Warn(PathOf(advancedPath, "internalCerts"), "has no effect: encryptInternalTraffic is Disabled, so no internal certificate is made. It is accepted, as the Broker resource accepts it, and ignored.");
            }
        }

        return new BrokerConfig(mode, certs.Given ? certs.Build() : null);
    }

    private InternalCertsFields ReadInternalCerts(JsonElement element, string path)
    {
        var certs = new InternalCertsFields { Given = true, AlgorithmPath = PathOf(PathOf(path, "privateKey"), "algorithm") };
        if (!ExpectObject(element, path))
        {
            return certs;
        }

        var fields = ReadObject(element, path, InternalCertsNames, []);
        var durationPath = PathOf(path, "duration");
        certs.Duration = ReadRequiredDuration(fields, "duration", durationPath, InternalCertsConfig.MinimumDuration, "cert-manager's minimum certificate duration");
        var renewBeforePath = PathOf(path, "renewBefore");
        certs.RenewBefore = ReadRequiredDuration(fields, "renewBefore", renewBeforePath, InternalCertsConfig.MinimumRenewBefore, "cert-manager's minimum renewBefore");
        if (certs.Duration is { } duration && certs.RenewBefore is { } renewBefore && renewBefore >= duration)
        {
            Error(renewBeforePath, $"{Quote(fields["renewBefore"].GetString())} is not shorter than duration ({Quote(fields["duration"].GetString())}): renewBefore must be less than the certificates' duration, or cert-manager refuses the certificate.");
            certs.RenewBefore = null;
        }

        var privateKeyPath = PathOf(path, "privateKey");
        if (!fields.TryGetValue("privateKey", out var privateKey))
        {
            Error(privateKeyPath, AllFourRequired + " (privateKey holds algorithm and rotationPolicy).");
            return certs;
        }

        if (!ExpectObject(privateKey, privateKeyPath))
        {
            return certs;
        }

        var keyFields = ReadObject(privateKey, privateKeyPath, PrivateKeyNames, []);
        certs.Algorithm = ReadRequiredEnum<PrivateKeyAlgorithm>(keyFields, "algorithm", certs.AlgorithmPath);
        certs.RotationPolicy = ReadRequiredEnum<RotationPolicy>(keyFields, "rotationPolicy", PathOf(privateKeyPath, "rotationPolicy"));
        return certs;
    }

    private TimeSpan? ReadRequiredDuration(Dictionary<string, JsonElement> fields, string name, string path, TimeSpan minimum, string minimumSource)
    {
        if (!fields.TryGetValue(name, out var value))
        {
            Error(path, AllFourRequired + ".");
            return null;
        }

        return ReadDuration(value, path, minimum, minimumSource);
    }

    private TEnum? ReadRequiredEnum<TEnum>(Dictionary<string, JsonElement> fields, string name, string path)
        where TEnum : struct, Enum
    {
        if (!fields.TryGetValue(name, out var value))
        {
            Error(path, AllFourRequired + ".");
            return null;
        }

        return ReadEnum<TEnum>(value, path);
    }

    private void Error(string path, string message) => errors.Add(new BrokerConfigDiagnostic(path, message));

    private void Warn(string path, string message) => warnings.Add(new BrokerConfigDiagnostic(path, message));

    /// <summary>The internalCerts fields read so far; a null field is missing or wrong (and reported).</summary>
    private struct InternalCertsFields
    {
        public bool Given { get; set; }

        public string AlgorithmPath { get; set; }

        public TimeSpan? Duration { get; set; }

        public TimeSpan? RenewBefore { get; set; }

        public PrivateKeyAlgorithm? Algorithm { get; set; }

        public RotationPolicy? RotationPolicy { get; set; }

        /// <summary>Builds the settings; called only when no error was found, so every field is there and within limits.</summary>
        public readonly InternalCertsConfig Build() =>
            new(Duration!.Value, RenewBefore!.Value, Algorithm!.Value, RotationPolicy!.Value);
    }
}
