using Microsoft.Extensions.Logging;

namespace Broker.Transport.Tests.Support;

/// <summary>One line a logger wrote: its event id, its level and its formatted message.</summary>
internal sealed record CapturedLog(int EventId, string EventName, LogLevel Level, string Message);

/// <summary>
/// A logger factory that keeps every line, formatted as a console logger would format its message, for tests
/// that count or read log lines. (The hosting tests use Microsoft.Extensions.Diagnostics.Testing's collector; this
/// project takes no logging package beyond the abstractions the library itself references.)
/// </summary>
internal sealed class LogCapture : ILoggerFactory
{
    private readonly List<CapturedLog> _lines = [];

    public IReadOnlyList<CapturedLog> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>The lines with event id <paramref name="id"/>.</summary>
    public IReadOnlyList<CapturedLog> Events(int id) => [.. Lines.Where(l => l.EventId == id)];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("LogCapture keeps the lines itself.");

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._lines)
            {
                owner._lines.Add(new CapturedLog(eventId.Id, eventId.Name ?? string.Empty, logLevel, formatter(state, exception)));
            }
        }
    }
}
