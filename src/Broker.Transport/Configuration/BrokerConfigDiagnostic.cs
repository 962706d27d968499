namespace Broker.Transport.Configuration;

/// <summary>One problem, or one warning, found in a broker config file.</summary>
/// <param name="Path">
/// Where in the file, as a dotted JSON path such as <c>advanced.internalCerts.renewBefore</c> (prefixed with
/// <c>properties.</c> when the file uses that wrapper); empty for the file as a whole.
/// </param>
/// <param name="Message">What is wrong: the value found and what is allowed.</param>
public sealed record BrokerConfigDiagnostic(string Path, string Message)
{
    /// <summary>The path and the message, as <c>advanced.internalCerts.duration: "30m" is too short; ...</c>.</summary>
    /// <returns>The diagnostic as one line.</returns>
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}
