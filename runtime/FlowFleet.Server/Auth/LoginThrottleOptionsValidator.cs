using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Auth;

/// <summary>Checks <c>Auth:Login</c> when the server starts, each error naming the setting and the value it got: a zero
/// refill or a negative wait would otherwise lock every address out, or let a password spray through, without a word.</summary>
internal sealed class LoginThrottleOptionsValidator : IValidateOptions<LoginThrottleOptions>
{
    public ValidateOptionsResult Validate(string? name, LoginThrottleOptions options)
    {
        var errors = new List<string>();
        foreach (var (key, value) in new (string, TimeSpan)[]
                 {
                     ("FirstDelay", options.FirstDelay), ("MaxDelay", options.MaxDelay), ("Forget", options.Forget), ("AddressRefill", options.AddressRefill),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"Auth:Login:{key} must be a positive time span (e.g. 00:00:30), got {value}");
            }
        }
        if (options.MaxDelay < options.FirstDelay)
        {
            errors.Add($"Auth:Login:MaxDelay ({options.MaxDelay}) must not be shorter than Auth:Login:FirstDelay ({options.FirstDelay})");
        }
        if (options.Remember < TimeSpan.Zero)
        {
            errors.Add($"Auth:Login:Remember must be 00:00:00 (forget at once) or more, got {options.Remember}");
        }
        if (options.FreeFailures < 0)
        {
            errors.Add($"Auth:Login:FreeFailures must be 0 or more, got {options.FreeFailures}");
        }
        if (options.AddressBudget < 1)
        {
            errors.Add($"Auth:Login:AddressBudget must be at least 1, got {options.AddressBudget}");
        }
        if (options.MaxEntries < 2)
        {
            errors.Add($"Auth:Login:MaxEntries must be at least 2 (addresses and user-address pairs), got {options.MaxEntries}");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
