namespace Engine.KmsLocal;

/// <summary>
/// What the <c>tools/engine kms ...</c> verbs do, for operators rehearsing a key revocation:
/// <c>serve</c> runs the local KMS; <c>create-key</c>, <c>disable-key</c>, <c>enable-key</c>,
/// <c>schedule-deletion</c>, <c>cancel-deletion</c> and the alias verbs change the keys in the data directory
/// directly (no server needed; a running server sees the change on its next request).
/// </summary>
/// <remarks>Errors are reported as <see cref="InvalidOperationException"/> naming the AWS error
/// code (for example <c>NotFoundException</c>) so the CLI can print them as they are.</remarks>
public static class LocalKmsTool
{
    /// <summary>Runs the local KMS on 127.0.0.1 until <paramref name="ct"/> is cancelled.</summary>
    /// <param name="port">TCP port; 0 picks a free one (printed to <paramref name="output"/>).</param>
    /// <param name="dataDir">Directory holding <c>keys.json</c>; created if missing.</param>
    /// <param name="ct">Stops the server (e.g. on Ctrl+C).</param>
    /// <param name="output">Where to print the endpoint and one line per request; null for none.</param>
    /// <returns>A task that completes when the server has stopped.</returns>
    /// <exception cref="IOException">The port is in use or the directory is not writable.</exception>
    public static async Task Serve(int port, string dataDir, CancellationToken ct, TextWriter? output = null)
    {
        await using LocalKmsServer server = await LocalKmsServer.StartAsync(dataDir, port, new LocalKmsServerOptions { Log = output }, ct).ConfigureAwait(false);
        output?.WriteLine($"local KMS listening on {server.Endpoint} (keys in {server.DataDir}); use aws-kms:KEY_ID?endpoint={server.Endpoint.OriginalString.TrimEnd('/')}&region=us-east-1");
        output?.Flush();
        try
        {
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Creates an enabled key with fresh random material.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="description">Free text shown by DescribeKey.</param>
    /// <param name="region">The region written into the key's ARN.</param>
    /// <returns>The new key (id and ARN).</returns>
    public static LocalKmsKey CreateKey(string dataDir, string? description = null, string region = "us-east-1") =>
        Run(dataDir, region, keys => keys.Create(description));

    /// <summary>Disables a key: Encrypt and Decrypt then fail with <c>DisabledException</c>.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="keyId">Key id or ARN.</param>
    /// <returns>The key after the change.</returns>
    /// <exception cref="InvalidOperationException">No such key (<c>NotFoundException</c>) or it is
    /// pending deletion (<c>KMSInvalidStateException</c>).</exception>
    public static LocalKmsKey DisableKey(string dataDir, string keyId) => Run(dataDir, null, keys => keys.Disable(keyId));

    /// <summary>Enables a disabled key again.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="keyId">Key id or ARN.</param>
    /// <returns>The key after the change.</returns>
    /// <exception cref="InvalidOperationException">No such key or it is pending deletion.</exception>
    public static LocalKmsKey EnableKey(string dataDir, string keyId) => Run(dataDir, null, keys => keys.Enable(keyId));

    /// <summary>
    /// Schedules a key's deletion: it answers <c>KMSInvalidStateException</c> at once, and
    /// <c>NotFoundException</c> once the window has passed and the material is destroyed.
    /// </summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="keyId">Key id or ARN.</param>
    /// <param name="pendingWindowDays">7 to 30 as in AWS, or 0 (local only) to destroy the key now.</param>
    /// <returns>The key after the change, with its deletion date.</returns>
    /// <exception cref="InvalidOperationException">No such key, already pending deletion, or a
    /// window out of range (<c>ValidationException</c>).</exception>
    public static LocalKmsKey ScheduleDeletion(string dataDir, string keyId, int pendingWindowDays = 7) =>
        Run(dataDir, null, keys => keys.ScheduleDeletion(keyId, pendingWindowDays, allowImmediate: true));

    /// <summary>Cancels a pending deletion; the key becomes <c>Disabled</c>, as in AWS.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="keyId">Key id or ARN.</param>
    /// <returns>The key after the change.</returns>
    /// <exception cref="InvalidOperationException">No such key, or it is not pending deletion.</exception>
    public static LocalKmsKey CancelDeletion(string dataDir, string keyId) => Run(dataDir, null, keys => keys.CancelDeletion(keyId));

    /// <summary>Lists the keys that are not yet destroyed.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <returns>The keys, in creation order.</returns>
    public static IReadOnlyList<LocalKmsKey> ListKeys(string dataDir) => Run(dataDir, null, keys => keys.List());

    /// <summary>Creates an alias for a key, with AWS's rules (<c>alias/NAME</c>, not under
    /// <c>alias/aws/</c>, unique); the alias then names the key wherever AWS accepts a key id.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="aliasName">The alias, <c>alias/NAME</c>.</param>
    /// <param name="keyId">Key id or key ARN (not another alias).</param>
    /// <param name="region">The region written into the alias ARN.</param>
    /// <returns>The new alias.</returns>
    /// <exception cref="InvalidOperationException">A name AWS refuses (<c>ValidationException</c>,
    /// <c>InvalidAliasNameException</c>), an alias that exists (<c>AlreadyExistsException</c>), no
    /// such key (<c>NotFoundException</c>), or a key pending deletion (<c>KMSInvalidStateException</c>).</exception>
    public static LocalKmsAlias CreateAlias(string dataDir, string aliasName, string keyId, string region = "us-east-1") =>
        Run(dataDir, region, keys => keys.CreateAlias(aliasName, keyId));

    /// <summary>Points an existing alias at another key.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="aliasName">The alias, <c>alias/NAME</c>.</param>
    /// <param name="keyId">Key id or key ARN of the new target.</param>
    /// <returns>The alias after the change.</returns>
    /// <exception cref="InvalidOperationException">No such alias or key (<c>NotFoundException</c>), or
    /// a key pending deletion.</exception>
    public static LocalKmsAlias UpdateAlias(string dataDir, string aliasName, string keyId) =>
        Run(dataDir, null, keys => keys.UpdateAlias(aliasName, keyId));

    /// <summary>Deletes an alias; the key it named is unaffected.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <param name="aliasName">The alias, <c>alias/NAME</c>.</param>
    /// <returns>The alias as it was.</returns>
    /// <exception cref="InvalidOperationException">No such alias (<c>NotFoundException</c>).</exception>
    public static LocalKmsAlias DeleteAlias(string dataDir, string aliasName) => Run(dataDir, null, keys => keys.DeleteAlias(aliasName));

    /// <summary>Lists the aliases of keys not yet destroyed.</summary>
    /// <param name="dataDir">The local KMS data directory.</param>
    /// <returns>The aliases, by name.</returns>
    public static IReadOnlyList<LocalKmsAlias> ListAliases(string dataDir) => Run(dataDir, null, keys => keys.ListAliases());

    private static T Run<T>(string dataDir, string? region, Func<KmsKeyOperations, T> action)
    {
        var keys = new KmsKeyOperations(new KmsKeyStore(dataDir, region ?? "us-east-1"));
        try
        {
            return action(keys);
        }
        catch (KmsError e)
        {
            throw new InvalidOperationException($"{e.Code}: {e.Message}", e);
        }
    }
}
