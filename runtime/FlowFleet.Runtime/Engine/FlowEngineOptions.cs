using FlowFleet.Runtime.Context;

namespace FlowFleet.Runtime;

/// <summary>Engine settings (section <c>Flows</c> in configuration).</summary>
public sealed class FlowEngineOptions
{
    /// <summary>Messages a node may have waiting before senders are held back.</summary>
    public int QueueCapacity { get; set; } = 300;

    /// <summary>How long a sender waits for room in a full queue before the message is dropped with an error.</summary>
    public TimeSpan QueueFullTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a node may take to close before the engine moves on.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Cheap nodes (switch, change, rbe) run on their sender's thread while each message takes at most this long; one that
    /// takes longer runs from its own queue from then on, so it can no longer hold up the sender's thread (which may be the
    /// thread that reads every device's socket).
    /// </summary>
    public TimeSpan InlineBudget { get; set; } = TimeSpan.FromMilliseconds(100);

    public ScriptLimits Scripts { get; set; } = new();

    /// <summary>
    /// A deploy that starts at least this many nodes returns once they are in place, before they are built and started
    /// (Node-RED answers there too; see <see cref="FlowEngine.BeginDeployAsync"/>); a smaller one starts them first.
    /// </summary>
    public int StartAfterAnswerNodes { get; set; } = 100;

    /// <summary>
    /// Context stores by name (Node-RED's <c>contextStorage</c>): module <c>memory</c> or <c>sqlite</c>. Empty means one
    /// memory store. The store named <c>default</c>, else the first, is the default.
    /// </summary>
    public Dictionary<string, ContextStoreOptions> ContextStorage { get; set; } = [];

    /// <summary>How much each context store may hold, per scope and in all (a set past a limit fails with an error).</summary>
    public ContextLimits ContextLimits { get; set; } = new();

    /// <summary>Extra environment values visible to <c>env.get</c> and <c>${VAR}</c> (after the process environment).</summary>
    public Dictionary<string, string> Env { get; set; } = [];
}

/// <summary>Limits every function node runs under; a node's own <c>timeout</c> can only shorten the time limit.</summary>
public sealed class ScriptLimits
{
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Statements per run; 0 (the default) for no budget (the timeout stops endless loops).</summary>
    public long MaxStatements { get; set; }

    public long MemoryLimitBytes { get; set; } = 1L << 30;

    public int MaxRecursion { get; set; } = 256;

    /// <summary>
    /// How deep built-ins that recurse in .NET code may go (<c>JSON.stringify</c>, <c>join</c>, <c>flat</c>, <c>bind</c>
    /// chains): beyond it they throw a <c>RangeError</c> instead of overflowing the process's stack.
    /// </summary>
    public int MaxNesting { get; set; } = 256;

    /// <summary>Function nodes read the message through a view instead of a copy (false: copy it in and out, as before).</summary>
    public bool LazyMessages { get; set; } = true;
}

/// <summary>One context store: <c>memory</c>, or <c>sqlite</c> with a file path.</summary>
public sealed class ContextStoreOptions
{
    public string Module { get; set; } = "memory";

    /// <summary>SQLite file for <c>sqlite</c> stores (relative paths are under the data directory).</summary>
    public string? Path { get; set; }

    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(30);
}
