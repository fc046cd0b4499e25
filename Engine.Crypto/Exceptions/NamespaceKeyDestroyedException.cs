namespace Engine;

/// <summary>
/// A new file was asked for in a namespace whose key the registry no longer holds: the namespace
/// was deleted (crypto-shredded). Only RocksDB finishing a flush or compaction of the namespace's
/// dropped column family gets here; the plugin reports it to RocksDB as a dropped column family,
/// which ends that job quietly instead of stopping the database with a background error.
/// </summary>
internal sealed class NamespaceKeyDestroyedException(string message) : EngineException(message);
