using Microsoft.Extensions.Logging;

namespace Engine.Diagnostics;

/// <summary>
/// Every message the engine logs, with a stable event id per message (1xxx lifecycle, 2xxx lock state and
/// CMEK, 3xxx key rotation, 4xxx integrity, 5xxx imports and backups). Parameters are paths, store ids,
/// namespace names, counts, durations and reasons: never key bytes, never user keys or values.
/// </summary>
internal static partial class EngineLog
{
    /// <summary>The category every engine logger uses.</summary>
    internal const string Category = "Engine.EncryptedStore";

    [LoggerMessage(EventId = 1001, EventName = "StoreOpened", Level = LogLevel.Information,
        Message = "Opened store {StoreId} at {StorePath} ({NamespaceCount} namespaces, CMEK {CmekUri}, created: {Created}) in {ElapsedMs:F0} ms")]
    internal static partial void StoreOpened(ILogger logger, string storeId, string storePath, int namespaceCount, string cmekUri, bool created, double elapsedMs);

    [LoggerMessage(EventId = 1002, EventName = "StoreClosed", Level = LogLevel.Information,
        Message = "Closed store {StoreId} at {StorePath}")]
    internal static partial void StoreClosed(ILogger logger, string storeId, string storePath);

    [LoggerMessage(EventId = 1003, EventName = "StoreOpenFailed", Level = LogLevel.Error,
        Message = "Opening the store at {StorePath} failed")]
    internal static partial void StoreOpenFailed(ILogger logger, string storePath, Exception error);

    /// <summary>Degraded and Locked log as warnings, Open and Closed as information.</summary>
    [LoggerMessage(EventId = 2001, EventName = "StateChanged",
        Message = "Store {StoreId} went from {OldState} to {NewState}: {Reason}")]
    internal static partial void StateChanged(ILogger logger, LogLevel level, string storeId, StoreState oldState, StoreState newState, string reason);

    [LoggerMessage(EventId = 2002, EventName = "CmekCheckFailed", Level = LogLevel.Warning,
        Message = "CMEK check of store {StoreId} failed ({Outcome}) after {ElapsedMs:F0} ms: {Reason}")]
    internal static partial void CmekCheckFailed(ILogger logger, string storeId, string outcome, double elapsedMs, string reason);

    [LoggerMessage(EventId = 2003, EventName = "CmekCheckSlow", Level = LogLevel.Warning,
        Message = "CMEK check of store {StoreId} took {ElapsedMs:F0} ms (timeout {TimeoutMs:F0} ms)")]
    internal static partial void CmekCheckSlow(ILogger logger, string storeId, double elapsedMs, double timeoutMs);

    [LoggerMessage(EventId = 3001, EventName = "RotationStarted", Level = LogLevel.Information,
        Message = "Store {StoreId}: {Rotation} rotation started ({Scope})")]
    internal static partial void RotationStarted(ILogger logger, string storeId, string rotation, string scope);

    [LoggerMessage(EventId = 3002, EventName = "RotationProgress", Level = LogLevel.Information,
        Message = "Store {StoreId}: {Rotation} rotation of {Scope}: {Done} of {Total} {Unit} done")]
    internal static partial void RotationProgress(ILogger logger, string storeId, string rotation, string scope, long done, long total, string unit);

    [LoggerMessage(EventId = 3003, EventName = "RotationCompleted", Level = LogLevel.Information,
        Message = "Store {StoreId}: {Rotation} rotation of {Scope} completed in {ElapsedMs:F0} ms")]
    internal static partial void RotationCompleted(ILogger logger, string storeId, string rotation, string scope, double elapsedMs);

    [LoggerMessage(EventId = 3004, EventName = "RotationFailed", Level = LogLevel.Error,
        Message = "Store {StoreId}: {Rotation} rotation of {Scope} failed")]
    internal static partial void RotationFailed(ILogger logger, string storeId, string rotation, string scope, Exception error);

    [LoggerMessage(EventId = 4001, EventName = "IntegrityFailure", Level = LogLevel.Error,
        Message = "Store {StoreId}: integrity failure in {FilePath} at offset {Offset}")]
    internal static partial void IntegrityFailure(ILogger logger, string storeId, string filePath, long? offset);

    [LoggerMessage(EventId = 4002, EventName = "VerifyCompleted", Level = LogLevel.Information,
        Message = "Store {StoreId}: verify authenticated {FileCount} files ({Bytes} bytes) in {ElapsedMs:F0} ms")]
    internal static partial void VerifyCompleted(ILogger logger, string storeId, int fileCount, long bytes, double elapsedMs);

    [LoggerMessage(EventId = 5001, EventName = "ImportStarted", Level = LogLevel.Information,
        Message = "Store {StoreId}: bulk import into namespace {Namespace} started")]
    internal static partial void ImportStarted(ILogger logger, string storeId, string @namespace);

    [LoggerMessage(EventId = 5002, EventName = "ImportCompleted", Level = LogLevel.Information,
        Message = "Store {StoreId}: bulk import into namespace {Namespace} completed: {Entries} entries, {Bytes} bytes, {SstFiles} SST files in {ElapsedMs:F0} ms")]
    internal static partial void ImportCompleted(ILogger logger, string storeId, string @namespace, long entries, long bytes, int sstFiles, double elapsedMs);

    [LoggerMessage(EventId = 5003, EventName = "ImportFailed", Level = LogLevel.Error,
        Message = "Store {StoreId}: bulk import into namespace {Namespace} failed; nothing was imported")]
    internal static partial void ImportFailed(ILogger logger, string storeId, string @namespace, Exception error);

    [LoggerMessage(EventId = 6001, EventName = "BackupCreated", Level = LogLevel.Information,
        Message = "Store {StoreId}: backup {BackupId} written to {BackupDirectory}: {FileCount} files, {Bytes} bytes, {NewBytes} copied, in {ElapsedMs:F0} ms")]
    internal static partial void BackupCreated(ILogger logger, string storeId, long backupId, string backupDirectory, int fileCount, long bytes, long newBytes, double elapsedMs);
}
