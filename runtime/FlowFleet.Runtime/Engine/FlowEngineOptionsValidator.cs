using Microsoft.Extensions.Options;

namespace FlowFleet.Runtime;

/// <summary>
/// Checks the <c>Flows</c> settings when the host starts (<c>ValidateOnStart</c>): a queue of 0 or a negative timeout would
/// otherwise surface as a hang or a crash on the first message, far from the setting that caused it.
/// </summary>
public sealed class FlowEngineOptionsValidator : IValidateOptions<FlowEngineOptions>
{
    public ValidateOptionsResult Validate(string? name, FlowEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.QueueCapacity < 1)
        {
            errors.Add($"Flows:QueueCapacity must be at least 1 (messages per node queue), got {options.QueueCapacity}");
        }
        Positive(errors, "Flows:QueueFullTimeout", options.QueueFullTimeout);
        Positive(errors, "Flows:CloseTimeout", options.CloseTimeout);
        Positive(errors, "Flows:InlineBudget", options.InlineBudget);
        Positive(errors, "Flows:Scripts:Timeout", options.Scripts.Timeout);
        if (options.Scripts.MaxRecursion < 1 || options.Scripts.MaxNesting < 1)
        {
            errors.Add($"Flows:Scripts:MaxRecursion and MaxNesting must be at least 1, got {options.Scripts.MaxRecursion} and {options.Scripts.MaxNesting}");
        }
        if (options.Scripts.MaxStatements < 0 || options.Scripts.MemoryLimitBytes < 0)
        {
            errors.Add("Flows:Scripts:MaxStatements and MemoryLimitBytes must not be negative (0 turns the limit off)");
        }
        foreach (var (store, o) in options.ContextStorage)
        {
            if (o.Module.ToLowerInvariant() is not ("memory" or "sqlite" or "localfilesystem"))
            {
                errors.Add($"Flows:ContextStorage:{store}:Module must be memory, sqlite or localfilesystem, got '{o.Module}'");
            }
            Positive(errors, $"Flows:ContextStorage:{store}:FlushInterval", o.FlushInterval);
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{name} must be a positive time span (e.g. 00:00:30), got {value}");
        }
    }
}
