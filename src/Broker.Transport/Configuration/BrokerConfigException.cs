using System.Text;

namespace Broker.Transport.Configuration;

/// <summary>
/// The broker config file cannot be used: it is missing or unreadable, it is not JSON, or its values are
/// wrong or unsupported. One exception carries every problem found, each naming the field's JSON path, the
/// value found and what is allowed.
/// </summary>
public sealed class BrokerConfigException : Exception
{
    /// <summary>Creates the exception with one problem that concerns the file as a whole.</summary>
    /// <param name="message">What is wrong.</param>
    public BrokerConfigException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with one problem that concerns the file as a whole, and the error that caused it.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The error that caused it, such as an <see cref="IOException"/>.</param>
    public BrokerConfigException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Errors = [new BrokerConfigDiagnostic(string.Empty, message)];
    }

    /// <summary>Creates the exception with a default message.</summary>
    public BrokerConfigException()
        : this("The broker config is not valid.")
    {
    }

    /// <summary>Creates the exception for the problems found in one file, with a message that lists them all.</summary>
    internal BrokerConfigException(IReadOnlyList<BrokerConfigDiagnostic> errors, string? filePath)
        : base(Describe(errors, filePath))
    {
        Errors = errors;
        FilePath = filePath;
    }

    /// <summary>Creates the exception for a file that cannot be read at all.</summary>
    internal BrokerConfigException(string filePath, string problem, Exception? innerException)
        : base($"The broker config file '{filePath}' cannot be read: {problem}", innerException)
    {
        Errors = [new BrokerConfigDiagnostic(string.Empty, $"The file '{filePath}' cannot be read: {problem}")];
        FilePath = filePath;
    }

    /// <summary>Every problem found, object by object from the top of the file (unknown names first, then each field); never empty.</summary>
    public IReadOnlyList<BrokerConfigDiagnostic> Errors { get; }

    /// <summary>The file read, as given to <see cref="BrokerConfigFile.Load"/>; null when the JSON came from a string.</summary>
    public string? FilePath { get; }

    private static string Describe(IReadOnlyList<BrokerConfigDiagnostic> errors, string? filePath)
    {
        var subject = filePath is null ? "The broker config" : $"The broker config file '{filePath}'";
        if (errors.Count == 1)
        {
            return $"{subject} is not valid: {errors[0]}";
        }

        var text = new StringBuilder($"{subject} is not valid ({errors.Count} errors):");
        foreach (var error in errors)
        {
            text.Append('\n').Append("  - ").Append(error);
        }

        return text.ToString();
    }
}
