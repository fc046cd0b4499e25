namespace Engine;

/// <summary>One file checked by <see cref="EncryptedStore.Verify()"/>.</summary>
/// <param name="Path">Absolute path of the file.</param>
/// <param name="LogicalBytes">Plaintext size of the file.</param>
/// <param name="TornTail">The last frame was incomplete: a file being written, or cut short by a crash before it was synced.</param>
public sealed record VerifiedFile(string Path, long LogicalBytes, bool TornTail);

/// <summary>What <see cref="EncryptedStore.Verify()"/> read and authenticated.</summary>
/// <param name="Files">Every file checked, in path order.</param>
public sealed record VerifyReport(IReadOnlyList<VerifiedFile> Files)
{
    /// <summary>Number of files whose every frame authenticated.</summary>
    public int FileCount => Files.Count;

    /// <summary>Total plaintext bytes authenticated.</summary>
    public long LogicalBytes => Files.Sum(f => f.LogicalBytes);
}
