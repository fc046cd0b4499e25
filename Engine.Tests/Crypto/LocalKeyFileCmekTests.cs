using System.Security.Cryptography;
using Engine.Crypto;

namespace Engine.Tests.Crypto;

public sealed class LocalKeyFileCmekTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Create_writes_a_32_byte_owner_only_file()
    {
        string path = _dir.File("k.key");
        using var cmek = LocalKeyFileCmek.Create(path);

        Assert.Equal(LocalKeyFileCmek.KeyFileSize, new FileInfo(path).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Equal("file:" + path, cmek.Uri);
        Assert.Single(Directory.GetFiles(_dir.Path)); // no temporary left behind
    }

    [Fact]
    public void Create_refuses_to_overwrite_an_existing_file()
    {
        string path = _dir.File("k.key");
        File.WriteAllBytes(path, [1, 2, 3]);

        var e = Assert.Throws<IOException>(() => LocalKeyFileCmek.Create(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("644", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    [InlineData("640", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [InlineData("620", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite)]
    [InlineData("602", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite)]
    public void Open_refuses_a_key_file_other_users_can_access(string octal, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix modes only.
        }

        string path = _dir.File("k.key");
        LocalKeyFileCmek.Create(path).Dispose();
        File.SetUnixFileMode(path, mode);

        var e = Assert.Throws<KeyUnavailableException>(() => LocalKeyFileCmek.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("0" + octal, e.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        LocalKeyFileCmek.Open(path).Dispose();
    }

    [Fact]
    public void Open_reports_a_missing_file_as_key_unavailable()
    {
        string path = _dir.File("absent.key");
        var e = Assert.Throws<KeyUnavailableException>(() => LocalKeyFileCmek.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Open_refuses_a_file_of_the_wrong_size(int size)
    {
        string path = _dir.File("k.key");
        File.WriteAllBytes(path, new byte[size]);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var e = Assert.Throws<KeyUnavailableException>(() => LocalKeyFileCmek.Open(path));
        Assert.Contains("32 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrap_round_trips_and_is_bound_to_key_and_context()
    {
        string path = _dir.File("k.key");
        using var cmek = LocalKeyFileCmek.Create(path);
        using var reopened = LocalKeyFileCmek.Open(path);
        using var other = LocalKeyFileCmek.Create(_dir.File("other.key"));
        byte[] secret = RandomNumberGenerator.GetBytes(32);
        byte[] context = [9, 8, 7];

        byte[] wrapped = await cmek.WrapKeyAsync(secret, context);
        Assert.Equal(secret, await reopened.UnwrapKeyAsync(wrapped, context));

        await Assert.ThrowsAsync<KeyUnavailableException>(() => reopened.UnwrapKeyAsync(wrapped, new byte[] { 9, 8, 6 }));
        var e = await Assert.ThrowsAsync<KeyUnavailableException>(() => other.UnwrapKeyAsync(wrapped, context));
        Assert.Contains("does not unwrap", e.Message, StringComparison.Ordinal);
        Assert.Contains(other.Uri, e.Message, StringComparison.Ordinal);

        wrapped[^1] ^= 1;
        await Assert.ThrowsAsync<KeyUnavailableException>(() => reopened.UnwrapKeyAsync(wrapped, context));
        await Assert.ThrowsAsync<KeyUnavailableException>(() => reopened.UnwrapKeyAsync(new byte[5], context));
    }

    [Fact]
    public async Task Dispose_zeroes_the_key_and_later_calls_fail()
    {
        var cmek = LocalKeyFileCmek.Create(_dir.File("k.key"));
        Assert.False(cmek.IsZeroed);

        cmek.Dispose();
        cmek.Dispose();

        Assert.True(cmek.IsDisposed);
        Assert.True(cmek.IsZeroed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cmek.WrapKeyAsync(new byte[32], default));
    }

    [Fact]
    public void ToString_and_errors_never_show_the_key()
    {
        string path = _dir.File("k.key");
        using var cmek = LocalKeyFileCmek.Create(path);
        byte[] key = File.ReadAllBytes(path);

        CryptoTestSupport.AssertNoKeyMaterial(cmek.ToString(), key);
        CryptoTestSupport.AssertNoKeyMaterial(cmek.Uri, key);
    }
}
