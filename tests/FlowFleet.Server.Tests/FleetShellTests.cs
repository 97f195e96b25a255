using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Server.Cli.Fleet;
using Microsoft.Extensions.DependencyInjection;
using RadLine;
using static FlowFleet.Server.Tests.FleetApiTests;

namespace FlowFleet.Server.Tests;

/// <summary><c>flowfleet shell</c> driven key by key: tab completion, the selection in the prompt, history, a live view ended by Enter.</summary>
public sealed class FleetShellTests
{
    [Fact]
    public async Task The_shell_completes_selects_calls_recalls_history_and_tracks_until_enter()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        var token = await s.TokenAsync();
        await using var fleet = new SimFleet(s.ShellyUrl, 2, "plus1pm", FleetCliTests.QuietSim);
        await fleet.StartAsync();
        await WaitOnline(s, 2);
        var id = fleet.Devices.Select(d => d.Id).Order(StringComparer.Ordinal).First();
        Assert.Equal(0, (await FleetCliTests.Run(s, token, "devices", "groups", "create", "kitchen")).Code);
        Assert.Equal(0, (await FleetCliTests.Run(s, token, "devices", "groups", "add", "kitchen", id)).Code);

        var keys = new Keys();
        var output = new CaptureWriter();
        var settings = FleetCliSettings.Load(null, s.BaseUri.ToString(), token, json: false);
        await using var session = new FleetSession(new FleetApiClient(settings.Server, settings.Token), settings, FleetSession.ConsoleFor(output, terminal: false, ansi: true), output,
            ct => FleetShell.WaitForKeyEnter(keys, ct));
        var history = Path.Combine(s.DataDir, "history");
        var shell = new FleetShell(session, keys, null, new CaptureWriter(), history).RunAsync(CancellationToken.None);
        var started = output.WaitForAsync(t => Plain(t).Contains("flowfleet [all]>", StringComparison.Ordinal));
        await Task.WhenAny(shell, started);
        if (shell.IsCompleted)
        {
            await shell; // surfaces a failure at start
        }
        await started;

        // "sel" Tab completes the verb, "group:k" Tab the group; the prompt then shows the selection and its size.
        keys.Type("sel").Tab().Type(" group:k").Tab().Enter();
        await output.WaitForAsync(t => Plain(t) is var p && p.Contains("Selected group:kitchen: 1 device(s)", StringComparison.Ordinal));
        await output.WaitForAsync(t => Plain(t) is var p && p.Contains("flowfleet [group:kitchen · 1]>", StringComparison.Ordinal));

        // A call to the selection (JSON stays one word), then Up + Enter runs it again from history.
        keys.Type("""call Switch.Toggle {"id": 0}""").Enter();
        await output.WaitForAsync(t => Plain(t) is var p && p.Contains("1 ok, 0 failed", StringComparison.Ordinal));
        Assert.True(fleet[id].Status("switch:0")!["output"]!.GetValue<bool>());
        keys.Up().Enter();
        await output.WaitForAsync(t => Plain(t) is var p && p.Split("1 ok, 0 failed").Length == 3);
        Assert.False(fleet[id].Status("switch:0")!["output"]!.GetValue<bool>());

        // track devices runs until Enter and shows what changes meanwhile.
        keys.Type("track devices").Enter();
        await output.WaitForAsync(t => Plain(t) is var p && p.Contains("press Enter to stop", StringComparison.Ordinal));
        await s.App.Services.GetRequiredService<DeviceHub>().CallAsync(id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        await output.WaitForAsync(t => Plain(t) is var p && p.Contains($"{id}", StringComparison.Ordinal) && p.Contains("switch:0 on", StringComparison.Ordinal));
        keys.Enter();
        await output.WaitForAsync(t => Plain(t) is var p && p.Contains("1 of 1 online", StringComparison.Ordinal));

        keys.Type("exit").Enter();
        Assert.Equal(0, await shell.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(["select group:kitchen", """call Switch.Toggle {"id": 0}""", """call Switch.Toggle {"id": 0}""", "track devices", "exit"], await File.ReadAllLinesAsync(history));

        // Completion offers the verbs, devices and groups it knows.
        Assert.Equal(["select"], FleetShell.Tokenize("select"));
        Assert.Equal(["call", "Switch.Set", """{"id":0, "on":true}""", "-s", "a b"], FleetShell.Tokenize("""call Switch.Set {"id":0, "on":true} -s "a b" """));
    }

    // The line editor redraws with escape sequences; assertions read the text without them.
    private static string Plain(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "");

    private sealed class Keys : IInputSource
    {
        private readonly ConcurrentQueue<ConsoleKeyInfo> _queue = new();

        public bool ByPassProcessing => true;

        public bool IsKeyAvailable() => !_queue.IsEmpty;

        public ConsoleKeyInfo ReadKey() => _queue.TryDequeue(out var key) ? key : throw new InvalidOperationException("no key");

        public Keys Type(string text)
        {
            foreach (var c in text)
            {
                _queue.Enqueue(new ConsoleKeyInfo(c, char.IsAsciiLetter(c) ? Enum.Parse<ConsoleKey>(char.ToUpperInvariant(c).ToString()) : ConsoleKey.Oem1, char.IsUpper(c), false, false));
            }
            return this;
        }

        public Keys Tab() => Key('\t', ConsoleKey.Tab);

        public Keys Enter() => Key('\r', ConsoleKey.Enter);

        public Keys Up() => Key('\0', ConsoleKey.UpArrow);

        private Keys Key(char c, ConsoleKey key)
        {
            _queue.Enqueue(new ConsoleKeyInfo(c, key, false, false, false));
            return this;
        }
    }
}
