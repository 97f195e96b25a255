using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime;
using Jint.Runtime.Interop;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Scripting;

/// <summary>Running script code under the limits: errors and broken limits become <see cref="ScriptException"/>; timers call back under the same lock.</summary>
public sealed partial class ScriptHost
{
    /// <summary>Runs script code, turning Jint's limit and script errors into <see cref="ScriptException"/>.</summary>
    private T Guard<T>(string what, Func<T> run)
    {
        try
        {
            return run();
        }
        catch (TimeoutException ex)
        {
            throw new ScriptException($"Script execution timed out after {_timeout.TotalMilliseconds:0} ms", ex);
        }
        catch (StatementsCountOverflowException ex)
        {
            throw new ScriptException("Script exceeded the statement limit", ex);
        }
        catch (MemoryLimitExceededException ex)
        {
            throw new ScriptException("Script exceeded the memory limit: " + ex.Message, ex);
        }
        catch (RecursionDepthOverflowException ex)
        {
            throw new ScriptException("Script exceeded the recursion limit", ex);
        }
        catch (JavaScriptException ex)
        {
            throw new ScriptException(Describe(ex), ex, ErrorInfo(ex.Error));
        }
        catch (PromiseRejectedException ex)
        {
            throw new ScriptException(ex.Message, ex);
        }
        catch (JintException ex)
        {
            throw new ScriptException($"{what}: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex) when (ex is not ScriptException)
        {
            throw new ScriptException($"{what}: {ex.Message}", ex);
        }
    }

    /// <summary>Name, message and stack of a thrown Error object (null for a thrown string or other value).</summary>
    private static JsErrorInfo? ErrorInfo(JsValue error)
    {
        if (error is not Jint.Native.JsError e)
        {
            return null;
        }
        var stack = e.Get("stack");
        var name = e.Get("name").ToString();
        var message = e.Get("message").ToString();
        var text = JsErrorInfo.Format(name, message);
        // Jint's stack lists frames only; V8's starts with the error's text.
        return new JsErrorInfo(name, message, stack.IsString() ? text + "\n" + stack.AsString() : text);
    }

    private static string Describe(JavaScriptException ex)
    {
        var error = ex.Error;
        string text;
        if (error.IsObject() && error.AsObject().Get("name") is { } name && name.IsString())
        {
            text = name.AsString() + ": " + error.AsObject().Get("message").ToString();
        }
        else
        {
            text = ex.Message;
        }
        // Node-RED reports a thrown error as err.toString(), without where it was thrown.
        return text;
    }

    /// <summary>Calls a JS callback later (timers), under the same lock and limits as input handling.</summary>
    internal void InvokeLater(JsValue callback, JsValue[] args)
    {
        if (_disposed)
        {
            return;
        }
        lock (_lock)
        {
            var blocking = global::FlowFleet.Runtime.Engine.RunningNode.t_blockingSends;
            global::FlowFleet.Runtime.Engine.RunningNode.t_blockingSends = true;
            try
            {
                Guard("timer", () =>
                {
                    var value = Engine.Call(callback, args);
                    // A timer that resolves a promise runs its then-callbacks now, as Node.js's microtask queue would.
                    Engine.Advanced.ProcessTasks();
                    return value;
                });
            }
            catch (ScriptException ex)
            {
                _node.Error(ex.Message);
            }
            finally
            {
                FlushDeferred();
                global::FlowFleet.Runtime.Engine.RunningNode.t_blockingSends = blocking;
            }
        }
    }
}
