using Microsoft.Extensions.Options;

namespace FlowFleet.Nodes.Core;

/// <summary>Checks the <c>Nodes</c> settings when the server starts, each error naming the setting and the value it got.</summary>
public sealed class CoreNodesOptionsValidator : IValidateOptions<CoreNodesOptions>
{
    public ValidateOptionsResult Validate(string? name, CoreNodesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!string.IsNullOrEmpty(options.File.WorkingDirectory) && !Directory.Exists(options.File.WorkingDirectory))
        {
            errors.Add($"Nodes:File:WorkingDirectory must be an existing directory, got '{options.File.WorkingDirectory}'");
        }
        if (options.Mqtt.ReconnectTime < 1)
        {
            errors.Add($"Nodes:Mqtt:ReconnectTime must be at least 1 (milliseconds), got {options.Mqtt.ReconnectTime}");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
