using Microsoft.Extensions.Options;

namespace FlowFleet.Runtime.Storage;

/// <summary>Checks <c>Flows:History</c> when the host starts: a negative count or age would otherwise prune every version
/// but the newest on the first deploy, silently.</summary>
public sealed class FlowHistoryOptionsValidator : IValidateOptions<FlowHistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, FlowHistoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxCount < 0)
        {
            errors.Add($"Flows:History:MaxCount must be 0 (no count limit) or more, got {options.MaxCount}");
        }
        if (options.MaxAge < TimeSpan.Zero)
        {
            errors.Add($"Flows:History:MaxAge must be 00:00:00 (no age limit) or a positive time span, got {options.MaxAge}");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
