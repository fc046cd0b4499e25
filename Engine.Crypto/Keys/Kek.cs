using System.Globalization;

namespace Engine.Crypto;

/// <summary>
/// A key-encryption key: a version of the system KEK, of a namespace KEK, or the per-boot
/// ephemeral key. Wraps DEKs (see <see cref="FileKeyService"/>).
/// </summary>
internal sealed class Kek : SecretKey
{
    private Kek(KeyScope scope, uint version)
    {
        Scope = scope;
        Version = version;
    }

    private Kek(KeyScope scope, uint version, ReadOnlySpan<byte> material)
        : base(material)
    {
        Scope = scope;
        Version = version;
    }

    public KeyScope Scope { get; }

    public uint Version { get; }

    /// <summary>A new KEK from the CSPRNG.</summary>
    public static Kek Generate(KeyScope scope, uint version) => new(scope, version);

    /// <summary>A KEK from stored material (copied; the caller zeroes its buffer).</summary>
    public static Kek FromMaterial(KeyScope scope, uint version, ReadOnlySpan<byte> material) => new(scope, version, material);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"Kek(scope={Scope}, version={Version})");
}

/// <summary>
/// Any other 256-bit secret (the store's root KEK, a local CMEK key) with a fixed description.
/// </summary>
internal sealed class OpaqueKey : SecretKey
{
    private readonly string _description;

    private OpaqueKey(string description) => _description = description;

    private OpaqueKey(string description, ReadOnlySpan<byte> material)
        : base(material) => _description = description;

    /// <summary>A new key from the CSPRNG.</summary>
    /// <param name="description">What the key is, e.g. "RootKek(store=...)"; never key bytes.</param>
    public static OpaqueKey Generate(string description) => new(description);

    /// <summary>A key from existing material (copied; the caller zeroes its buffer).</summary>
    public static OpaqueKey FromMaterial(string description, ReadOnlySpan<byte> material) => new(description, material);

    public override string ToString() => _description;
}
