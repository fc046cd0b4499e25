using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Engine.Tests.Observability;

/// <summary>One log entry as a sink would see it: every part that could leak something.</summary>
internal sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> State, Exception? Error)
{
    /// <summary>Everything a sink could write: message, each structured value, the exception with its stack.</summary>
    public string AllText =>
        string.Join('\n', [Message, .. State.Select(kv => $"{kv.Key}={kv.Value}"), Error?.ToString() ?? string.Empty]);
}

/// <summary>A logger provider that keeps every entry at every level, for tests.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    public bool Has(int eventId) => _entries.Any(e => e.EventId.Id == eventId);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            IReadOnlyList<KeyValuePair<string, object?>> values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner._entries.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), [.. values], exception));
        }
    }
}
