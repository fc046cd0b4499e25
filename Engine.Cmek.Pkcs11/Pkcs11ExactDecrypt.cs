using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using LowLevel = Net.Pkcs11Interop.LowLevelAPI80;

namespace Engine.Cmek.Pkcs11;

/// <summary>
/// C_DecryptInit and one C_Decrypt into a pinned buffer this provider owns and zeroes. Pkcs11Interop's high-level
/// <c>ISession.Decrypt</c> sizes its output with a first C_Decrypt, and SoftHSM answers the ciphertext length (48
/// bytes for a 32-byte key under GCM); Pkcs11Interop then copies the 32 bytes into a shorter array and leaves the
/// longer one, holding the root KEK, to the garbage collector unzeroed. The low-level API avoids both copies.
/// </summary>
/// <remarks>Pkcs11Interop's low-level API is per platform layout; this one is for CK_ULONG of 8 bytes with default
/// structure packing (64-bit Linux and the other 64-bit Unixes but macOS, Pkcs11Interop's "80" layout). Elsewhere
/// <see cref="Supported"/> is false and the caller falls back to the high-level call.</remarks>
internal sealed class Pkcs11ExactDecrypt : IDisposable
{
    private readonly LowLevel.Pkcs11Library _library;

    /// <summary>Loads the module's function list (C_GetFunctionList; no second C_Initialize).</summary>
    public Pkcs11ExactDecrypt(string modulePath) => _library = new LowLevel.Pkcs11Library(modulePath);

    /// <summary>True where Pkcs11Interop's "80" low-level layout is the platform's.</summary>
    public static bool Supported => Platform.NativeULongSize == 8 && Platform.StructPackingSize == 0;

    /// <summary>Decrypts <paramref name="sealedKey"/> (ciphertext and tag) under AES-GCM in the token.</summary>
    /// <returns>The plaintext, in a pinned array the caller owns and zeroes.</returns>
    /// <exception cref="Pkcs11Exception">The token refused; <see cref="Pkcs11Exception.Method"/> names the call.</exception>
    public byte[] Decrypt(ISession session, IObjectHandle key, byte[] iv, byte[] aad, byte[] sealedKey, int tagLength)
    {
        IntPtr ivMemory = UnmanagedMemory.Allocate(iv.Length);
        IntPtr aadMemory = UnmanagedMemory.Allocate(Math.Max(aad.Length, 1));
        LowLevel.CK_MECHANISM mechanism = default;
        byte[] output = GC.AllocateArray<byte>(sealedKey.Length, pinned: true);
        try
        {
            UnmanagedMemory.Write(ivMemory, iv);
            UnmanagedMemory.Write(aadMemory, aad);
            var parameters = new LowLevel.MechanismParams.CK_GCM_PARAMS
            {
                Iv = ivMemory,
                IvLen = (ulong)iv.Length,
                IvBits = (ulong)iv.Length * 8,
                AAD = aadMemory,
                AADLen = (ulong)aad.Length,
                TagBits = (ulong)tagLength * 8,
            };
            mechanism = LowLevel.CkmUtils.CreateMechanism(CKM.CKM_AES_GCM, parameters);
            CKR rv = _library.C_DecryptInit(session.SessionId, ref mechanism, key.ObjectId);
            if (rv != CKR.CKR_OK)
            {
                throw new Pkcs11Exception("C_DecryptInit", rv);
            }

            ulong length = (ulong)output.Length;
            rv = _library.C_Decrypt(session.SessionId, sealedKey, (ulong)sealedKey.Length, output, ref length);
            if (rv != CKR.CKR_OK)
            {
                throw new Pkcs11Exception("C_Decrypt", rv);
            }

            byte[] plain = GC.AllocateArray<byte>((int)length, pinned: true);
            output.AsSpan(0, (int)length).CopyTo(plain);
            return plain;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(output);
            UnmanagedMemory.Free(ref ivMemory);
            UnmanagedMemory.Free(ref aadMemory);
            UnmanagedMemory.Free(ref mechanism.Parameter);
        }
    }

    /// <summary>Drops the low-level module reference (dlclose; the high-level one keeps it loaded and initialized).</summary>
    public void Dispose() => _library.Dispose();
}
