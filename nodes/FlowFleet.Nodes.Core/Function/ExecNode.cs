using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Options;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's exec: runs a system command; stdout, stderr and the return code leave on three outputs.</summary>
[NodeType("exec", Category = "function", Outputs = 3, Color = "darksalmon", Icon = "terminal", LabelProperty = "command",
    OutputLabels = ["stdout", "stderr", "return code"],
    Help = """
    Runs `command`, followed by `msg.payload` (or the property `addpay`; empty: nothing) and `append`. In exec mode the
    command runs in a shell (`/bin/bash` or `sh`) and the outputs are sent when it ends; with `useSpawn: "true"` it runs
    without a shell and stdout/stderr are sent as they arrive. `timer` seconds kills it; `msg.kill` (a signal name, default
    SIGTERM) kills a running one (`msg.pid`). Return code as `{code}` unless `oldrc`. Servers can forbid this node with the
    setting `Nodes:Exec:Enabled=false`.
    """)]
public sealed partial class ExecNode(IOptions<CoreNodesOptions>? options = null) : FlowNode<ExecConfig>
{
    private readonly bool _enabled = options?.Value.Exec.Enabled ?? true;
    private readonly ConcurrentDictionary<int, Running> _active = new();

    private sealed class Running(Process process)
    {
        public Process Process { get; } = process;

        public int Id { get; } = process.Id;

        public int? Signal { get; set; }

        public CancellationTokenSource? Timer { get; set; }
    }

    /// <summary>Commands running now (tests).</summary>
    internal int ActiveCount => _active.Count;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            Node.Status(new NodeStatus("red", "ring", "disabled"));
            throw new InvalidOperationException("exec nodes are disabled on this server (setting Nodes:Exec:Enabled is false)");
        }
        return Task.CompletedTask;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            throw new InvalidOperationException("exec nodes are disabled on this server (setting Nodes:Exec:Enabled is false)");
        }
        if (msg.Data.ContainsKey("kill"))
        {
            Kill(msg);
            return ValueTask.CompletedTask;
        }
        var command = (Config.Command ?? "").Trim();
        var addpay = Config.Addpay switch
        {
            null => "payload",
            JsonValue v when v.TryGetValue<bool>(out var b) => b ? "payload" : "",
            var v => JsonTools.ToJsString(v),
        };
        if (addpay.Length > 0 && PropertyPath.Parse(addpay).TryGet(msg.Data, out var value))
        {
            command += " " + (value is JsonObject or JsonArray ? "[object Object]" : JsonTools.ToJsString(value));
        }
        if (!string.IsNullOrWhiteSpace(Config.Append))
        {
            command += " " + Config.Append.Trim();
        }
        var spawn = Config.UseSpawn?.ToString() == "true";
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = false, UseShellExecute = false };
        if (spawn)
        {
            var args = SpawnArgs().Matches(command).Select(m => m.Value.Length > 1 && m.Value.StartsWith('"') && m.Value.EndsWith('"') ? m.Value[1..^1] : m.Value).ToList();
            if (args.Count == 0)
            {
                throw new InvalidOperationException("exec: no command to run");
            }
            psi.FileName = args[0];
            args.RemoveAt(0);
            args.ForEach(psi.ArgumentList.Add);
        }
        else
        {
            psi.FileName = File.Exists("/bin/bash") ? "/bin/bash" : OperatingSystem.IsWindows() ? "cmd.exe" : "/bin/sh";
            if (OperatingSystem.IsWindows())
            {
                psi.ArgumentList.Add("/c");
            }
            else
            {
                psi.ArgumentList.Add("-c");
            }
            psi.ArgumentList.Add(command);
        }
        ExecSignals.Apply(psi);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("exec: the process did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            // Node's spawn reports ENOENT and a return code of -2 for a command that does not exist.
            Node.Error($"spawn {psi.FileName} ENOENT: {ex.Message}", msg.Clone());
            var rc = msg.Clone();
            rc.Payload = Config.Oldrc ? JsonValue.Create(-2) : new JsonObject { ["code"] = -2 };
            Node.Status(new NodeStatus("red", "dot", "rc:-2"));
            Node.Send([null, null, [rc]]);
            return ValueTask.CompletedTask;
        }
        var running = new Running(process);
        _active[process.Id] = running;
        Node.Status(new NodeStatus("blue", "dot", "pid:" + process.Id));
        if (Config.Timer is { } t && JsonTools.ToNumber(t) is var seconds && seconds > 0)
        {
            running.Timer = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            running.Timer.Token.Register(() => Signal(running, 15));
        }
        Node.DeferDone();
        _ = RunAsync(msg, running, spawn, command);
        return ValueTask.CompletedTask;
    }

    private async Task RunAsync(FlowMessage msg, Running running, bool spawn, string command)
    {
        try
        {
            await (spawn ? RunSpawnAsync(msg, running) : RunExecAsync(msg, running, command));
        }
#pragma warning disable CA1031 // A failure of one command is reported on the node, never lost in a background task.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Node.Error("exec: " + ex.Message, msg);
            Node.Done(msg);
        }
    }

    private async Task RunExecAsync(FlowMessage msg, Running running, string command)
    {
        var p = running.Process;
        var stdoutTask = ReadAllAsync(p.StandardOutput.BaseStream);
        var stderrTask = ReadAllAsync(p.StandardError.BaseStream);
        await p.WaitForExitAsync();
        var stdout = await stdoutTask;
        var stderr = await stderrTask;
        var (code, signal) = ExitOf(running);
        Finish(running);
        msg.Data.Remove("payload");
        FlowMessage? msg2 = null;
        FlowMessage? msg3 = null;
        if (stderr.Length > 0)
        {
            msg2 = msg.Clone();
            msg2.Payload = Output(stderr);
        }
        msg.Payload = Output(stdout);
        Node.Status(NodeStatus.Clear);
        if (code != 0)
        {
            msg3 = msg.Clone();
            var rc = new JsonObject { ["code"] = code is null ? null : JsonValue.Create(code.Value), ["message"] = $"Command failed: {command}\n{Encoding.UTF8.GetString(stderr)}" };
            if (signal is not null)
            {
                rc["signal"] = signal;
            }
            msg3.Payload = rc;
            Node.Status(code is null ? new NodeStatus("red", "dot", "killed") : new NodeStatus("red", "dot", "error:" + code));
        }
        else if (!Config.Oldrc)
        {
            msg3 = msg.Clone();
            msg3.Payload = new JsonObject { ["code"] = 0 };
        }
        if (msg3 is not null)
        {
            msg.Data["rc"] = msg3.Payload!.DeepClone();
            msg2?.Data["rc"] = msg3.Payload!.DeepClone();
        }
        Node.Send([[msg], msg2 is null ? null : [msg2], msg3 is null ? null : [msg3]]);
        Node.Done(msg);
    }

    private async Task RunSpawnAsync(FlowMessage msg, Running running)
    {
        var p = running.Process;
        var outTask = PumpAsync(p.StandardOutput.BaseStream, msg, 0, running);
        var errTask = PumpAsync(p.StandardError.BaseStream, msg, 1, running);
        await Task.WhenAll(outTask, errTask);
        await p.WaitForExitAsync();
        var wasActive = _active.ContainsKey(p.Id);
        var (code, signal) = ExitOf(running);
        Finish(running);
        if (wasActive)
        {
            var rc = msg.Clone();
            if (Config.Oldrc)
            {
                rc.Payload = code is null ? null : JsonValue.Create(code.Value);
            }
            else
            {
                var o = new JsonObject { ["code"] = code is null ? null : JsonValue.Create(code.Value) };
                if (signal is not null)
                {
                    o["signal"] = signal;
                }
                rc.Payload = o;
            }
            Node.Status(code switch
            {
                0 => NodeStatus.Clear,
                null => new NodeStatus("red", "dot", "killed"),
                < 0 => new NodeStatus("red", "dot", "rc:" + code),
                _ => new NodeStatus("yellow", "dot", "rc:" + code),
            });
            Node.Send([null, null, [rc]]);
        }
        Node.Done(msg);
    }

    private async Task PumpAsync(Stream stream, FlowMessage msg, int port, Running running)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            if (_active.ContainsKey(running.Id))
            {
                var m = msg.Clone();
                m.Payload = Output(buffer.AsSpan(0, n).ToArray());
                Node.Send(port, m);
            }
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream s)
    {
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms);
        return ms.ToArray();
    }

    /// <summary>Text when the bytes are valid UTF-8 (Node-RED's <c>isUtf8</c>), else a buffer.</summary>
    private static JsonNode Output(byte[] bytes)
    {
        try
        {
            return JsonValue.Create(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes));
        }
        catch (DecoderFallbackException)
        {
            return JsonTools.Buffer(bytes);
        }
    }

    /// <summary>Exit code, or null plus the signal name when a signal we sent ended the process (as Node reports it).</summary>
    private static (int? Code, string? Signal) ExitOf(Running running)
    {
        var code = running.Process.ExitCode;
        return running.Signal is { } sig && (code == 128 + sig || code == -1 || code == 137)
            ? (null, SignalNames.FirstOrDefault(s => s.Value == sig).Key ?? "SIGTERM")
            : (code, null);
    }

    private void Finish(Running running)
    {
        _active.TryRemove(running.Id, out _);
        running.Timer?.Dispose();
        running.Process.Dispose();
    }

    private void Kill(FlowMessage msg)
    {
        var name = msg.Data["kill"] is JsonValue kv && kv.TryGetValue<string>(out var s) && s.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? s.ToUpperInvariant() : "SIGTERM";
        var sig = SignalNames.GetValueOrDefault(name, 15);
        Running? target = null;
        if (msg.Data.ContainsKey("pid"))
        {
            _active.TryGetValue((int)JsonTools.ToNumber(msg.Data["pid"]), out target);
        }
        else if (_active.Count == 1)
        {
            target = _active.Values.First();
        }
        if (target is not null)
        {
            Signal(target, sig);
            Node.Status(new NodeStatus("red", "dot", "killed"));
        }
    }

    private static void Signal(Running running, int signal)
    {
        running.Signal = signal;
        try
        {
            if (OperatingSystem.IsWindows() || signal == 9 || NativeKill(running.Process.Id, signal) != 0)
            {
                running.Process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static readonly Dictionary<string, int> SignalNames = new(StringComparer.Ordinal)
    {
        ["SIGHUP"] = 1, ["SIGINT"] = 2, ["SIGQUIT"] = 3, ["SIGKILL"] = 9, ["SIGUSR1"] = 10, ["SIGUSR2"] = 12, ["SIGTERM"] = 15,
        ["SIGCONT"] = 18, ["SIGSTOP"] = 19,
    };

    /// <summary>Sends a signal with the system's <c>kill</c> (.NET itself only sends SIGKILL); 0 when sent.</summary>
    private static int NativeKill(int pid, int signal)
    {
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false });
            kill?.WaitForExit(2000);
            return kill is { HasExited: true, ExitCode: 0 } ? 0 : -1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    [GeneratedRegex("(?:[^\\s\"]+|\"[^\"]*\")+")]
    private static partial Regex SpawnArgs();

    public override ValueTask CloseAsync(bool removed)
    {
        foreach (var (pid, running) in _active)
        {
            _active.TryRemove(pid, out _);
            Signal(running, 15);
        }
        Node.Status(NodeStatus.Clear);
        return ValueTask.CompletedTask;
    }
}

public sealed class ExecConfig
{
    [NodeProperty(Default = "\"\"", Label = "Command")]
    public string? Command { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Append msg. property (empty: none)")]
    public JsonNode? Addpay { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Extra input parameters")]
    public string? Append { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false:when the command is complete - exec mode", "true:while the command is running - spawn mode"], Label = "Output")]
    public JsonNode? UseSpawn { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Timeout (seconds)")]
    public JsonNode? Timer { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Hide console (Windows)")]
    public bool WinHide { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Return code as a plain number (old style)")]
    public bool Oldrc { get; set; }

    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }
}
