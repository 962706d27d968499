namespace Broker.Transport.Cli.CommandLine;

/// <summary>The tool's exit codes, the same for every command (a contract: scripts test them).</summary>
internal static class ExitCodes
{
    /// <summary>Everything asked was done.</summary>
    public const int Success = 0;

    /// <summary>A runtime failure (a refused handshake, a lost connection, bytes that came back changed); stderr says why.</summary>
    public const int Failure = 1;

    /// <summary>A usage or configuration error (an unknown flag, a bad value, a missing or broken file); stderr names it.</summary>
    public const int Usage = 2;
}

/// <summary>A usage or configuration error found after parsing (exit code 2); the message names the problem.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public UsageException()
    {
    }
}

/// <summary>A runtime failure whose message is the whole story (exit code 1).</summary>
internal sealed class CommandFailedException : Exception
{
    public CommandFailedException(string message)
        : base(message)
    {
    }

    public CommandFailedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public CommandFailedException()
    {
    }
}
