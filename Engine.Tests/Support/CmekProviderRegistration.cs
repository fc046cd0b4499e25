using System.Runtime.CompilerServices;
using Engine.Cmek.AwsKms;

namespace Engine.Tests.Support;

/// <summary>Registers the provider packages the tests use, as an application does once at start-up.</summary>
internal static class CmekProviderRegistration
{
    [ModuleInitializer]
    internal static void RegisterProviders() => AwsKmsCmek.Register();
}
