using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime;
using Jint.Runtime.Interop;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// Runs one function node's JavaScript in its own Jint engine with Node-RED's function API
/// (<c>msg</c>, <c>node</c>, <c>context</c>/<c>flow</c>/<c>global</c>, <c>env</c>, <c>RED.util</c>, timers) and
/// always-on limits. A script that breaks a limit throws <see cref="ScriptException"/>; the engine stays usable.
/// </summary>
public sealed partial class ScriptHost : IDisposable
{
    [System.Text.RegularExpressions.GeneratedRegex(@"\bmsg\b")]
    private static partial System.Text.RegularExpressions.Regex MsgWord();

    private JsEngine? _engine;
    private readonly INodeHost _node;
    private JsValue _main = JsValue.Undefined;
    private readonly bool _isAsync;
    private readonly bool _readsMsg;
    private readonly TimeSpan _timeout;
    private readonly Lock _lock = new();
    private readonly ScriptTimers _timers;
    private FlowMessage? _current;

    // The message a later node.done() completes when no run is current (called from a timer or a callback): Node-RED's
    // node.done is the latest message's done, so a script may finish its message asynchronously.
    private FlowMessage? _awaitingDone;
    private JsonObjectView? _handOver;
    private readonly bool _lazyMessages;
    private Jint.Native.Object.ObjectInstance? _objectPrototype;
    private string? _finalize;
    private bool _disposed;
    private readonly ScriptLimits _limits;
    private readonly ScriptSource _source;
    private readonly string _code;

    /// <summary>
    /// Checks the code's syntax at once (a syntax error fails the deploy of this node, as in Node-RED) but builds the Jint engine
    /// on first use: a deploy of 200 function nodes no longer builds 200 engines before it answers, and a node that never
    /// gets a message never costs one. Parsed code is shared by nodes running the same source.
    /// </summary>
    public ScriptHost(INodeHost node, ScriptLimits limits, ScriptSource source)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(source);
        _node = node;
        _limits = limits;
        _source = source;
        _lazyMessages = limits.LazyMessages;
        _timeout = source.TimeoutSeconds > 0 && TimeSpan.FromSeconds(source.TimeoutSeconds) < limits.Timeout
            ? TimeSpan.FromSeconds(source.TimeoutSeconds)
            : limits.Timeout;
        UsesDone = source.Code.Contains("node.done", StringComparison.Ordinal);
        _isAsync = source.Code.Contains("await", StringComparison.Ordinal);
        // A script that never names msg (or arguments) cannot see the message: skip copying it into the engine.
        _readsMsg = MsgWord().IsMatch(source.Code) || source.Code.Contains("arguments", StringComparison.Ordinal);
        _timers = new ScriptTimers(this);
        _code = (_isAsync ? "(async function(msg) {\n" : "(function(msg) {\n") + source.Code + "\n})";
        ScriptCache.CheckSyntax(_code);
        _finalize = string.IsNullOrWhiteSpace(source.Finalize) ? null : AsyncWrapper(source.Finalize);
        _initialize = string.IsNullOrWhiteSpace(source.Initialize) ? null : AsyncWrapper(source.Initialize);
        _finalizeCode = _finalize;
    }

    /// <summary>True once the engine exists (built by the first message, timer, setup or close code).</summary>
    public bool EngineBuilt => _engine is not null;

    /// <summary>The engine, built on first use; callers hold <see cref="_lock"/>.</summary>
    private JsEngine Engine => _engine ?? BuildEngine();

    private JsEngine BuildEngine()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var limits = _limits;
        var engine = new JsEngine(o =>
        {
            // Only amortizable constraints by default (time, allocations): an exact one (a statement budget) turns off
            // Jint's fast loop paths. The statement budget is there for whoever sets it.
            o.TimeoutInterval(_timeout).LimitRecursion(limits.MaxRecursion).Strict(false);
            // A context set past its quota, or a value nested too deep, is the script's error to catch (as in Node-RED).
            o.CatchClrExceptions(ex => ex is Context.ContextQuotaException or JsonDepthException);
            if (limits.MemoryLimitBytes > 0)
            {
                o.Constraint(new AllocationLimit(limits.MemoryLimitBytes));
            }
            if (limits.MaxStatements > 0)
            {
                o.MaxStatements((int)Math.Min(int.MaxValue, limits.MaxStatements));
            }
        });
        _engine = engine;
        ScriptGuards.Install(engine, limits.MaxNesting);
        InstallApi(_source.Outputs);
        // Node.js's Buffer is a global there; here a script that names it gets it at once, any other once a message
        // carries a Buffer into the engine (buffer.js defines nothing else, and Buffer is not enumerable on globalThis).
        if (NamesBuffer(_source))
        {
            ScriptBuffer.Install(engine);
        }
        else
        {
            ScriptBuffer.InstallOnFirstUse(engine);
        }
        foreach (var (name, value) in _source.Globals ?? new Dictionary<string, JsonNode?>())
        {
            engine.SetValue(name, JsConvert.ToJs(engine, value));
        }
        foreach (var (name, module) in _source.Modules ?? [])
        {
            engine.SetValue(name, ScriptModules.Load(engine, module));
        }
        // node.send(literal, false) sites whose message nothing else can reach are sent at once (FreshSends).
        var (code, sites) = FreshSends.Rewrite(_code, _initialize, _finalize);
        _freshSites = sites;
        var prepared = ScriptCache.Prepare(code);
        _main = engine.Evaluate(in prepared);
        // The realm's own Object.prototype: evaluating "Object.prototype" parsed a script per engine (the parser's code
        // then reached the JIT's queue while a burst's first messages needed it).
        _objectPrototype = engine.Intrinsics.Object.PrototypeObject;
        return engine;
    }

    private readonly string? _initialize;

    private static bool NamesBuffer(ScriptSource source) =>
        source.Code.Contains("Buffer", StringComparison.Ordinal)
        || source.Initialize?.Contains("Buffer", StringComparison.Ordinal) == true
        || source.Finalize?.Contains("Buffer", StringComparison.Ordinal) == true;

    // The close code as it was, for error positions after _finalize is cleared by running it.
    private readonly string? _finalizeCode;

    private static string AsyncWrapper(string code) => "(async function() {\n" + code + "\n})";

    /// <summary>
    /// Runs the setup code (Node-RED's <c>initialize</c>, an async function) and completes when the promise it returns settles.
    /// Its synchronous part runs on a thread of its own under the body's limits, so deploys and other flows never wait for it;
    /// the wait for its promise holds no thread and no lock, so the timers and promises it awaits run meanwhile. As in
    /// Node-RED, that wait has no time limit. Faults with a <see cref="ScriptException"/> when the setup throws or rejects.
    /// </summary>
    public Task InitializeAsync()
    {
        if (_initialize is null)
        {
            return Task.CompletedTask;
        }
        var code = _initialize;
        return Task.Factory.StartNew(() => _disposed ? Task.FromResult(JsValue.Undefined) : UnderLock(() => Guard("initialize", () =>
        {
            var init = Engine.Evaluate(code, "initialize");
            return WhenSettled(Engine.Call(init));
        })), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>
    /// Sends a message to a link in (id or name) and waits for a link out in return mode to hand it back; set by the
    /// function node (the engine's link nodes live there). Throws <see cref="LinkCallException"/>.
    /// </summary>
    public Func<string, FlowMessage, TimeSpan, FlowMessage>? LinkCall { get; set; }

    /// <summary>True when the code calls <c>node.done()</c> itself, so completion waits for it.</summary>
    public bool UsesDone { get; }

    /// <summary>Runs the function for one message; returns what it returned, per output port.</summary>
    public IReadOnlyList<IReadOnlyList<FlowMessage>?> Run(FlowMessage msg)
    {
        ArgumentNullException.ThrowIfNull(msg);
        if (_isAsync)
        {
            // Waits outside the lock (see RunAsync): the timers the code awaits need it.
            return RunAsync(msg).GetAwaiter().GetResult();
        }
        lock (_lock)
        {
            _current = msg;
            _awaitingDone = UsesDone ? msg : null;
            // node.send inside the script is synchronous: a full queue holds the script (see RunningNode.Write).
            var blocking = global::FlowFleet.Runtime.Engine.RunningNode.t_blockingSends;
            global::FlowFleet.Runtime.Engine.RunningNode.t_blockingSends = true;
            try
            {
                // A synchronous script reads the message through a view (no copy); an async one (RunAsync) gets a copy,
                // since its continuations outlive the call.
                var view = _readsMsg && _lazyMessages ? new JsonObjectView(Engine, _objectPrototype!, msg.Data) : null;
                var timers = _timers.Started;
                JsValue result;
                try
                {
                    // State passed in rather than captured: no closure object per message.
                    result = Guard("function", (Host: this, View: view, Msg: msg), static s =>
                    {
                        var engine = s.Host.Engine;
                        var value = engine.Call(s.Host._main, s.View ?? (s.Host._readsMsg ? JsConvert.ToJs(engine, s.Msg.Data) : JsValue.Undefined));
                        // Promise callbacks the body queued run now, before its results leave (as microtasks do in Node.js).
                        engine.Advanced.ProcessTasks();
                        return value;
                    });
                }
                catch (ScriptException ex) when (view is not null || ex.JsError is not null)
                {
                    // Catch nodes get the message as the script left it (as in Node-RED, where it is the same object).
                    if (view is not null)
                    {
                        TryCommit(view);
                    }
                    var reported = BodyError(ex);
                    if (reported.JsError is { } error)
                    {
                        // Node-RED's function node keeps a thrown Error in msg.error (catch nodes see it as msg._error).
                        msg.Data["error"] = JsSpecial.ForError(error).ToNode();
                    }
                    if (ReferenceEquals(reported, ex))
                    {
                        throw;
                    }
                    throw reported;
                }
                // The message itself returned, and no timer may still reach it: pass it on as it is.
                _handOver = view is not null && _timers.Started == timers ? view : null;
                try
                {
                    return ToPorts(result, msg, topLevelArrayIsPorts: true);
                }
                finally
                {
                    _handOver = null;
                }
            }
            finally
            {
                FlushDeferred();
                _current = null;
                global::FlowFleet.Runtime.Engine.RunningNode.t_blockingSends = blocking;
            }
        }
    }

    private readonly DeferredSends _deferred = new();
    private FreshSends.Shape[] _freshSites = [];

    /// <summary>Sends what <c>node.send(msg, false)</c> queued during the run that just ended, in order.</summary>
    private void FlushDeferred()
    {
        if (_deferred.IsEmpty)
        {
            return;
        }
        _deferred.Drain(this, static (host, msgs, input) =>
        {
            try
            {
                host._node.Send(host.ToPorts(msgs, input, topLevelArrayIsPorts: true));
            }
            catch (ScriptException ex)
            {
                host._node.Error(ex.Message, input);
            }
        });
    }

    private static void TryCommit(JsonObjectView view)
    {
        try
        {
            view.Commit();
        }
        catch (Exception ex) when (ex is InvalidOperationException or JintException)
        {
            // A value that cannot become JSON: the error being reported already says what went wrong.
        }
    }

    /// <summary>What a script-backed node does with an input: run it and send what it returned.</summary>
    public void HandleInput(INodeHost node, FlowMessage msg)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (UsesDone)
        {
            node.DeferDone();
        }
        var ports = Run(msg);
        if (ports.Count > 0)
        {
            node.Send(ports);
        }
    }

    /// <summary><see cref="HandleInput"/> that waits for async code without holding a thread.</summary>
    public async ValueTask HandleInputAsync(INodeHost node, FlowMessage msg, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!_isAsync)
        {
            HandleInput(node, msg);
            return;
        }
        if (UsesDone)
        {
            node.DeferDone();
        }
        var ports = await RunAsync(msg, cancellationToken).ConfigureAwait(false);
        if (ports.Count > 0)
        {
            SendBlocking(node, ports);
        }
    }

    /// <summary>Runs the close code, reporting a failure as a node error, and releases the engine.</summary>
    public void Shutdown(INodeHost node)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            Close();
        }
        catch (ScriptException ex)
        {
            node.Error("Close code failed: " + ex.Message);
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary><see cref="Shutdown"/> on a thread of its own (close code runs under the script's time limit).</summary>
    public Task ShutdownAsync(INodeHost node)
    {
        if (_finalize is null)
        {
            // Nothing of the script's own to run: no thread for it (a full deploy closes every function node).
            Shutdown(node);
            return Task.CompletedTask;
        }
        return Task.Factory.StartNew(() => Shutdown(node), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Runs the close code (Node-RED's <c>finalize</c>) and stops timers.</summary>
    public void Close()
    {
        _timers.Dispose();
        if (_finalize is null)
        {
            return;
        }
        var code = _finalize;
        _finalize = null;
        var settled = UnderLock(() => Guard("finalize", () =>
        {
            var fin = Engine.Evaluate(code, "finalize");
            return WhenSettled(Engine.Call(fin));
        }));
        AwaitSettled(settled, CancellationToken.None).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _timers.Dispose();
        CancelWaits();
        _engine?.Dispose();
    }

    private ClrFunction Fn(string name, Func<JsValue, JsValue[], JsValue> body) => new(Engine, name, body);
}

/// <summary>A <c>node.linkcall</c> failed (bad arguments, no such link in, timeout); the script's promise is rejected with it.</summary>
public sealed class LinkCallException(string message) : InvalidOperationException(message);

/// <summary>What a function node runs: its code, setup and close code, outputs and own timeout.</summary>
public sealed record ScriptSource(string Code, int Outputs = 1, double TimeoutSeconds = 0, string? Initialize = null, string? Finalize = null)
{
    /// <summary>Extra global values (for example a plugin node's <c>config</c>).</summary>
    public IReadOnlyDictionary<string, JsonNode?>? Globals { get; init; }

    /// <summary>Modules set as globals (Node-RED's <c>libs</c>): variable name and module (see <see cref="ScriptModules"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Modules { get; init; }
}

/// <summary>A script failed or broke a limit; the message says which, for catch nodes and the debug sidebar.</summary>
public sealed class ScriptException(string message, Exception? inner = null, JsErrorInfo? jsError = null)
    : InvalidOperationException(message, inner)
{
    /// <summary>The Error object the script threw, if it threw one (catch nodes get its stack).</summary>
    public JsErrorInfo? JsError { get; } = jsError;
}
