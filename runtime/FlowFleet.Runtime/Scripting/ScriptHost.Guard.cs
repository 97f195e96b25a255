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
    /// <summary>
    /// Runs script code, turning Jint's limit and script errors into <see cref="ScriptException"/>. The memory limit is
    /// <see cref="AllocationLimit"/>, which throws a <see cref="ScriptException"/> itself; promises are awaited through
    /// their reactions (ScriptHost.Async), never unwrapped by Jint, so no PromiseRejectedException arises here.
    /// </summary>
    private T Guard<T>(string what, Func<T> run) => Guard(what, run, static r => r());

    /// <summary><see cref="Guard{T}(string, Func{T})"/> with the state passed in, so a per-message call allocates no closure.</summary>
    private T Guard<TState, T>(string what, TState state, Func<TState, T> run)
    {
        try
        {
            return run(state);
        }
        catch (TimeoutException ex)
        {
            throw new ScriptException($"Script execution timed out after {_timeout.TotalMilliseconds:0} ms", ex);
        }
        catch (StatementsCountOverflowException ex)
        {
            throw new ScriptException("Script exceeded the statement limit", ex);
        }
        catch (RecursionDepthOverflowException ex)
        {
            throw new ScriptException("Script exceeded the recursion limit", ex);
        }
        catch (JavaScriptException ex)
        {
            var info = ErrorInfo(ex.Error);
            throw new ScriptException(info?.Text ?? Describe(ex), ex, info);
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

    /// <summary>
    /// Name, message and stack of a thrown Error object (null for a thrown string or other value), the message worded as
    /// V8 words it (<see cref="V8Errors"/>).
    /// </summary>
    private JsErrorInfo? ErrorInfo(JsValue error)
    {
        if (error is not Jint.Native.JsError e)
        {
            return null;
        }
        var stackValue = e.Get("stack");
        var stack = stackValue.IsString() ? stackValue.AsString() : null;
        var name = e.Get("name").ToString();
        var message = e.Get("message").ToString();
        var frame = V8Errors.FirstFrame(stack);
        message = V8Errors.Message(name, message, frame is { } f ? CodeAt(f.Source, f.Line, f.Column) : null);
        var text = JsErrorInfo.Format(name, message);
        // Jint's stack lists frames only; V8's starts with the error's text.
        return new JsErrorInfo(name, message, stack is not null ? text + "\n" + stack : text);
    }

    /// <summary>The code from a position (line and column from 1) to the end of its line, in one of this script's sources.</summary>
    private string? CodeAt(string source, int line, int column)
    {
        var code = source switch
        {
            "function" => _code,
            "initialize" => _initialize,
            "finalize" => _finalizeCode,
            _ => null,
        };
        if (code is null || line < 1 || column < 1)
        {
            return null;
        }
        var lines = code.Split('\n');
        return line <= lines.Length && column - 1 <= lines[line - 1].Length ? lines[line - 1][(column - 1)..] : null;
    }

    /// <summary>
    /// Node-RED's function node rewrites a ReferenceError from the message code: its message becomes the stack's first line
    /// plus where in the code it happened, "ReferenceError: x is not defined (line 1, col 15)" (so catch nodes see the
    /// name twice in <c>error.message</c>, as in Node-RED). The position is given when the error was raised in the code
    /// itself, not in a named function it calls.
    /// </summary>
    private static ScriptException BodyError(ScriptException ex)
    {
        if (ex.JsError is not { Name: "ReferenceError" } info)
        {
            return ex;
        }
        var message = info.Text;
        if (V8Errors.FirstFrame(info.Stack) is { Named: false, Source: "function" } f)
        {
            // The code's line 1 is line 2 of the wrapper it runs in; V8's column counts from 1, as Jint's stack does.
            message += $" (line {f.Line - 1}, col {f.Column})";
        }
        var reported = info with { Message = message };
        return new ScriptException(reported.Text, ex.InnerException, reported);
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
                // Node-RED's timer wrapper reports a callback's error with an empty message (node.error(err, {})): catch
                // nodes get it.
                var empty = new FlowMessage(new System.Text.Json.Nodes.JsonObject { ["_msgid"] = MessageId.New() });
                if (ex.JsError is { } info)
                {
                    _node.Error(info, empty);
                }
                else
                {
                    _node.Error(ex.Message, empty);
                }
            }
            finally
            {
                FlushDeferred();
                global::FlowFleet.Runtime.Engine.RunningNode.t_blockingSends = blocking;
            }
        }
    }
}
