using System.CommandLine;
using Engine.Cmek.Pkcs11;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine hsm key-usage</c>: turns a PKCS#11 CMEK's decrypt/encrypt usage off or on (C_SetAttributeValue),
/// the revocation an HSM operator makes without destroying the key, which <c>pkcs11-tool</c> cannot do. Token
/// and key set-up stay with softhsm2-util and pkcs11-tool (see docs/hsm.md).
/// </summary>
internal static class HsmCommand
{
    public static Command Create() => new Command("hsm", "PKCS#11 CMEK administration for revocation rehearsals (see docs/hsm.md)")
    {
        KeyUsage(),
    };

    private static Command KeyUsage()
    {
        var cmek = new Option<string>("--cmek")
        {
            Description = "The key's pkcs11: URI (token, object, module-path, pin-source), as given to 'engine init'",
            Required = true,
            HelpName = "URI",
        };
        var usage = new Option<string>("--usage")
        {
            Description = "off: CKA_DECRYPT and CKA_ENCRYPT false (stores protected by the key lock at their next CMEK check); on: both true (they unlock)",
            Required = true,
            HelpName = "on|off",
        };
        usage.AcceptOnlyFromAmong("on", "off");
        var command = new Command("key-usage", "Turn a PKCS#11 key's decrypt and encrypt usage off (revoke) or on (restore)")
        {
            cmek, usage,
        }.WithHelpNote("""
            Exit codes: 0 done; 2 bad usage or URI; 4 the token, PIN or key cannot be used (the CKR_ code is named).
            """);
        command.SetBody(parse =>
        {
            bool allowed = parse.GetRequiredValue(usage) == "on";
            using Pkcs11Cmek key = Pkcs11Cmek.Open(parse.GetRequiredValue(cmek));
            key.SetKeyUsage(allowed);
            Console.WriteLine(allowed
                ? $"{key.Uri}: CKA_DECRYPT and CKA_ENCRYPT on: locked stores protected by it unlock at their next CMEK check"
                : $"{key.Uri}: CKA_DECRYPT and CKA_ENCRYPT off: stores protected by it lock at their next CMEK check (CKR_KEY_FUNCTION_NOT_PERMITTED)");
            return ExitCodes.Ok;
        });
        return command;
    }
}
