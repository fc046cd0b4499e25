namespace Engine.KmsLocal;

/// <summary>
/// What the local KMS tells about a key: its identity and state, never its material.
/// </summary>
/// <param name="KeyId">The key id (a UUID).</param>
/// <param name="Arn">The key ARN, <c>arn:aws:kms:REGION:ACCOUNT:key/KEY_ID</c>.</param>
/// <param name="State"><c>Enabled</c>, <c>Disabled</c> or <c>PendingDeletion</c>, as in AWS.</param>
/// <param name="CreationDate">When the key was created.</param>
/// <param name="DeletionDate">When a key pending deletion will be destroyed, else null.</param>
/// <param name="Description">The operator's description.</param>
public sealed record LocalKmsKey(string KeyId, string Arn, string State, DateTimeOffset CreationDate, DateTimeOffset? DeletionDate, string Description);
