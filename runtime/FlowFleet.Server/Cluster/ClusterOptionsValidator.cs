using FlowFleet.Fleet.Cluster;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Cluster;

/// <summary>Checks the <c>Cluster</c> settings when the server starts, each error naming the setting and the value it got.</summary>
internal sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>, IValidateOptions<ClusterFlowOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Nats) &&
            (!Uri.TryCreate(options.Nats, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss")))
        {
            errors.Add($"Cluster:Nats must be a NATS URL (nats://host:4222), got '{options.Nats}'");
        }
        // The subject prefix is one token: NATS separates tokens with dots and treats * and > as wildcards.
        if (string.IsNullOrWhiteSpace(options.Subject) || options.Subject.IndexOfAny(['.', '*', '>', ' ', '\t']) >= 0)
        {
            errors.Add($"Cluster:Subject must be one subject token (no dots, spaces, * or >), got '{options.Subject}'");
        }
        if (options.Heartbeat <= TimeSpan.Zero)
        {
            errors.Add($"Cluster:Heartbeat must be a positive time span (e.g. 00:00:05), got {options.Heartbeat}");
        }
        if (options.FanoutWindow < TimeSpan.Zero)
        {
            errors.Add($"Cluster:FanoutWindow must be zero or a positive time span, got {options.FanoutWindow}");
        }
        if (options.FanoutBatchBytes < 1024)
        {
            errors.Add($"Cluster:FanoutBatchBytes must be at least 1024, got {options.FanoutBatchBytes}");
        }
        if (options.FanoutDeviceQueue < 1)
        {
            errors.Add($"Cluster:FanoutDeviceQueue must be at least 1, got {options.FanoutDeviceQueue}");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ClusterFlowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!(options.LeaseSeconds > 0))
        {
            errors.Add($"Cluster:LeaseSeconds must be more than 0, got {options.LeaseSeconds}");
        }
        if (!(options.FlowCheckSeconds > 0))
        {
            errors.Add($"Cluster:FlowCheckSeconds must be more than 0, got {options.FlowCheckSeconds}");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Registers the cluster settings' checks (<c>ValidateOnStart</c>).</summary>
internal static class ClusterOptionsValidation
{
    public static IServiceCollection AddClusterOptionsValidation(this IServiceCollection services)
    {
        services.AddOptions<ClusterOptions>().ValidateOnStart();
        services.AddOptions<ClusterFlowOptions>().BindConfiguration("Cluster").ValidateOnStart();
        services.AddSingleton<ClusterOptionsValidator>();
        services.AddSingleton<IValidateOptions<ClusterOptions>>(sp => sp.GetRequiredService<ClusterOptionsValidator>());
        services.AddSingleton<IValidateOptions<ClusterFlowOptions>>(sp => sp.GetRequiredService<ClusterOptionsValidator>());
        return services;
    }
}
