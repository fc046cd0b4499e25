using Microsoft.Extensions.Options;

namespace Engine.Hosting;

/// <summary>
/// Runs the store's own option checks when the host starts (ValidateOnStart), so that a bad path, frame
/// size or check interval in configuration stops the start with an <see cref="OptionsValidationException"/>
/// naming the setting, before any file is touched.
/// </summary>
internal sealed class StoreOptionsValidator : IValidateOptions<StoreOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail($"EncryptedStore options: {e.Message}");
        }
        return ValidateOptionsResult.Success;
    }
}
