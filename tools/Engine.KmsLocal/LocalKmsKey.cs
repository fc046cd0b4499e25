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

/// <summary>
/// An alias of a local KMS key, as AWS's <c>ListAliases</c> reports it.
/// </summary>
/// <param name="Name">The alias name, <c>alias/NAME</c>.</param>
/// <param name="Arn">The alias ARN, <c>arn:aws:kms:REGION:ACCOUNT:alias/NAME</c>.</param>
/// <param name="TargetKeyId">The id of the key the alias points to.</param>
/// <param name="CreationDate">When the alias was created.</param>
/// <param name="LastUpdatedDate">When the alias was last pointed to a key (creation or <c>UpdateAlias</c>).</param>
public sealed record LocalKmsAlias(string Name, string Arn, string TargetKeyId, DateTimeOffset CreationDate, DateTimeOffset LastUpdatedDate);
