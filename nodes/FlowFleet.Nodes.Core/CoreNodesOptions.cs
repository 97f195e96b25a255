namespace FlowFleet.Nodes.Core;

/// <summary>Server settings of the core nodes (configuration section <c>Nodes</c>).</summary>
public sealed class CoreNodesOptions
{
    public ExecNodeOptions Exec { get; set; } = new();

    public FileNodeOptions File { get; set; } = new();

    public Network.Mqtt.MqttNodeOptions Mqtt { get; set; } = new();

    /// <summary>
    /// <c>Nodes:FunctionExternalModules</c>, Node-RED's <c>functionExternalModules</c>: false refuses function nodes that
    /// list modules (they fail to start).
    /// </summary>
    public bool FunctionExternalModules { get; set; } = true;
}

/// <summary><c>Nodes:Exec</c>: whether flows may run commands on the server.</summary>
public sealed class ExecNodeOptions
{
    /// <summary>False refuses every exec node (it fails to start with a message naming this setting).</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary><c>Nodes:File</c>: Node-RED's <c>fileWorkingDirectory</c>.</summary>
public sealed class FileNodeOptions
{
    /// <summary>Relative file names of file, file in and watch nodes resolve against this directory (default: the process's).</summary>
    public string? WorkingDirectory { get; set; }

    internal string Resolve(string name) =>
        string.IsNullOrEmpty(WorkingDirectory) || Path.IsPathRooted(name) ? name : Path.GetFullPath(Path.Combine(WorkingDirectory, name));
}
