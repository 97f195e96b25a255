namespace FlowFleet.Server.Hosting;

/// <summary>What the command line decided for this process.</summary>
public sealed record ServerOptions
{
    /// <summary>Where flows, credentials, keys and the database live.</summary>
    public string DataDirectory { get; init; } = "data";

    public bool NoAuth { get; init; }

    public bool Demo { get; init; }

    /// <summary>Start with flows stopped (Node-RED's <c>--safe</c>); a deploy starts them.</summary>
    public bool Safe { get; init; }

    /// <summary>Folder scanned for plugins (<c>plugins/</c> beside the working directory by default).</summary>
    public string? PluginsDirectory { get; init; }

    /// <summary>Example flows installed by <c>--demo</c> on first start (<c>flows/</c> beside the working directory by default).</summary>
    public string? FlowsDirectory { get; init; }

    /// <summary>Where the generated admin password is written (the console by default).</summary>
    public TextWriter? Console { get; init; }

    /// <summary>
    /// Build what the start needs on a second thread while the main one maps endpoints and starts the host
    /// (<see cref="StartWarmup"/>); the command line sets it, tests that build a host and drop it unstarted leave it off.
    /// </summary>
    public bool WarmUp { get; init; }

    /// <summary>Replaces services after the defaults are registered (tests: a fake clock).</summary>
    public Action<IServiceCollection>? Services { get; init; }
}
