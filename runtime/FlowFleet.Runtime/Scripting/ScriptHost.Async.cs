using System.Collections.Concurrent;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Jint;
using Jint.Native;
using RunningNode = FlowFleet.Runtime.Engine.RunningNode;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// The script's event loop. Node.js runs a script on one thread: a timer callback runs once the code before it has returned
/// or is awaiting. Here the lock is that thread: script code (the body, setup, close code, timer callbacks and the promise
/// jobs they queue) runs only under it, and a wait for a promise happens outside it, as a task completed by the promise's
/// own reaction. So the timers that settle an awaited promise can take the lock and run: the setup code, or a message's
/// async code, may await timers, send from them and await other promises.
/// </summary>
public sealed partial class ScriptHost
{
    // Waits not settled yet: cancelled when the engine goes, so nothing waits on a promise that can no longer settle. Made
    // by the first promise a script returns (most function nodes of a deploy never return one).
    private ConcurrentDictionary<TaskCompletionSource<JsValue>, byte>? _waits;

    /// <summary>
    /// Runs the promise jobs queued so far and returns a task for the value's outcome: the value itself, or for a promise
    /// its result once it settles (a rejection faults the task with the script's error). Callers hold the lock.
    /// </summary>
    private Task<JsValue> WhenSettled(JsValue value)
    {
        Engine.Advanced.ProcessTasks();
        if (!value.IsPromise())
        {
            return Task.FromResult(value);
        }
        var settled = new TaskCompletionSource<JsValue>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waits = LazyInitializer.EnsureInitialized(ref _waits, static () => new());
        waits[settled] = 0;
        var fulfilled = Fn("fulfilled", (_, a) =>
        {
            waits.TryRemove(settled, out byte _);
            settled.TrySetResult(Arg(a, 0));
            return JsValue.Undefined;
        });
        var rejected = Fn("rejected", (_, a) =>
        {
            waits.TryRemove(settled, out byte _);
            settled.TrySetException(Rejection(Arg(a, 0)));
            return JsValue.Undefined;
        });
        Engine.Call(value.AsObject().Get("then"), value, [fulfilled, rejected]);
        // An already settled promise runs its reaction now, so the task is complete before the lock is released.
        Engine.Advanced.ProcessTasks();
        return settled.Task;
    }

    /// <summary>A rejection as the script's error: an Error object keeps its name, message and stack for catch nodes.</summary>
    private ScriptException Rejection(JsValue reason) =>
        ErrorInfo(reason) is { } info ? new ScriptException(info.Text, null, info) : new ScriptException(Text(reason));

    /// <summary>Waits (outside the lock) for a settled value, up to the script's time limit.</summary>
    private async Task<JsValue> AwaitSettled(Task<JsValue> settled, CancellationToken cancellationToken)
    {
        if (settled.IsCompleted)
        {
            return await settled.ConfigureAwait(false);
        }
        try
        {
            return await settled.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new ScriptException($"Script execution timed out after {_timeout.TotalMilliseconds:0} ms", ex);
        }
    }

    private void CancelWaits()
    {
        if (Volatile.Read(ref _waits) is not { } waits)
        {
            return;
        }
        foreach (var wait in waits.Keys)
        {
            wait.TrySetCanceled();
        }
        waits.Clear();
    }

    /// <summary>
    /// Runs async message code (it contains <c>await</c>): starts it under the lock, waits for its promise outside it, and
    /// turns what it resolved to into messages per port. The message stays current meanwhile, so <c>node.send</c> and
    /// <c>node.done</c> in its continuations belong to it (a node handles one message at a time).
    /// </summary>
    private async Task<IReadOnlyList<IReadOnlyList<FlowMessage>?>> RunAsync(FlowMessage msg, CancellationToken cancellationToken = default)
    {
        try
        {
            var settled = UnderLock(() =>
            {
                _current = msg;
                _awaitingDone = UsesDone ? msg : null;
                return Guard("function", () => WhenSettled(Engine.Call(_main, _readsMsg ? JsConvert.ToJs(Engine, msg.Data) : JsValue.Undefined)));
            });
            var result = await AwaitSettled(settled, cancellationToken).ConfigureAwait(false);
            return UnderLock(() => ToPorts(result, msg, topLevelArrayIsPorts: true));
        }
        catch (ScriptException ex) when (ex.JsError is not null)
        {
            var reported = BodyError(ex);
            // Node-RED's function node keeps a thrown Error in msg.error (catch nodes see it as msg._error).
            msg.Data["error"] = JsSpecial.ForError(reported.JsError!).ToNode();
            if (ReferenceEquals(reported, ex))
            {
                throw;
            }
            throw reported;
        }
        finally
        {
            lock (_lock)
            {
                if (ReferenceEquals(_current, msg))
                {
                    _current = null;
                }
            }
        }
    }

    /// <summary>
    /// Runs script code under the lock with synchronous <c>node.send</c> (a full queue holds the script), then sends what
    /// <c>node.send(msg, false)</c> deferred.
    /// </summary>
    private T UnderLock<T>(Func<T> body)
    {
        lock (_lock)
        {
            var blocking = RunningNode.t_blockingSends;
            RunningNode.t_blockingSends = true;
            try
            {
                return body();
            }
            finally
            {
                FlushDeferred();
                RunningNode.t_blockingSends = blocking;
            }
        }
    }

    /// <summary>Sends results after an await: off the node's input thread, so a full queue holds the sender as a script's send does.</summary>
    private static void SendBlocking(INodeHost node, IReadOnlyList<IReadOnlyList<FlowMessage>?> ports)
    {
        var blocking = RunningNode.t_blockingSends;
        RunningNode.t_blockingSends = true;
        try
        {
            node.Send(ports);
        }
        finally
        {
            RunningNode.t_blockingSends = blocking;
        }
    }
}
