namespace Engine.Tests.Locking;

/// <summary>
/// The lock tests assert time bounds (lock within one check interval + 1 s). They run alone, not in
/// parallel with other test classes: on 2 cores a parallel class that saturates the thread pool
/// delays the background check's continuations by seconds and the bound measures the scheduler.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LockTimingGroup
{
    public const string Name = "lock timing";
}
