using Engine.Crypto;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Engine.Tests.Crypto;

public sealed class EnvelopeProperties : IDisposable
{
    private readonly RegistryFixture _f = new();
    private readonly FileKeyService _service;

    public EnvelopeProperties()
    {
        _f.Registry.CreateNamespace("one");
        _f.Registry.CreateNamespace("two");
        _f.Registry.RotateKek(KeyScope.ForNamespace(2));
        _service = new FileKeyService(_f.Registry, CryptoTestSupport.ScopeOfPath);
    }

    public void Dispose()
    {
        _service.Dispose();
        _f.Dispose();
    }

    /// <summary>
    /// For random header AAD and scope, the DEK round-trips, and flipping any single bit of the
    /// envelope (or of the AAD) makes the open fail with an integrity error, never another DEK.
    /// </summary>
    [Property(MaxTest = 300)]
    public bool Random_dek_and_aad_round_trip_and_any_bit_flip_fails(byte[] aad, byte scopeChoice, NonNegativeInt bit)
    {
        aad ??= [];
        string path = (scopeChoice % 3) switch
        {
            0 => "/db/system/f",
            1 => "/db/ns1/f.sst",
            _ => "/db/ns2/f.sst",
        };
        byte[] dek = new byte[FileKeyService.DekSize];
        byte[] envelope = new byte[FileKeyService.MaxEnvelopeSize];
        int length = _service.NewFileKey(path, aad, dek, envelope);
        envelope = envelope[..length];

        byte[] opened = new byte[FileKeyService.DekSize];
        _service.OpenFileKey(path, aad, envelope, opened);
        bool roundTrips = opened.AsSpan().SequenceEqual(dek);

        int envelopeBit = bit.Get % (length * 8);
        byte[] flipped = (byte[])envelope.Clone();
        flipped[envelopeBit / 8] ^= (byte)(1 << (envelopeBit % 8));
        bool envelopeFlipDetected = FailsWithIntegrity(path, aad, flipped);

        bool aadFlipDetected = true;
        if (aad.Length > 0)
        {
            byte[] badAad = (byte[])aad.Clone();
            int aadBit = bit.Get % (aad.Length * 8);
            badAad[aadBit / 8] ^= (byte)(1 << (aadBit % 8));
            aadFlipDetected = FailsWithIntegrity(path, badAad, envelope);
        }

        return roundTrips && envelopeFlipDetected && aadFlipDetected;
    }

    [Fact]
    public void Dek_round_trip_property_via_Prop_ForAll()
    {
        Prop.ForAll<byte[]>(aad =>
        {
            aad ??= [];
            byte[] dek = new byte[32];
            byte[] envelope = new byte[FileKeyService.MaxEnvelopeSize];
            int length = _service.NewFileKey("/db/tmp/spill", aad, dek, envelope);
            byte[] opened = new byte[32];
            _service.OpenFileKey("/db/tmp/spill", aad, envelope.AsSpan(0, length), opened);
            return opened.AsSpan().SequenceEqual(dek);
        }).QuickCheckThrowOnFailure();
    }

    private bool FailsWithIntegrity(string path, byte[] aad, byte[] envelope)
    {
        byte[] dek = new byte[FileKeyService.DekSize];
        try
        {
            _service.OpenFileKey(path, aad, envelope, dek);
            return false;
        }
        catch (IntegrityException e)
        {
            return e.Path == path && !dek.AsSpan().ContainsAnyExcept((byte)0);
        }
    }
}
