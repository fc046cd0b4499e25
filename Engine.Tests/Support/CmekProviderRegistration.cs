using System.Runtime.CompilerServices;
using Engine.Cmek.AwsKms;
using Engine.Cmek.Pkcs11;

namespace Engine.Tests.Support;

/// <summary>Registers the provider packages the tests use, as an application does once at start-up.</summary>
internal static class CmekProviderRegistration
{
    [ModuleInitializer]
    internal static void RegisterProviders()
    {
        AwsKmsCmek.Register();
        Pkcs11Cmek.Register();
    }
}
