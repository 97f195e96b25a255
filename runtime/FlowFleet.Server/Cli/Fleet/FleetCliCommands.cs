using System.CommandLine;
using RadLine;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary><c>flowfleet devices …</c> (one-shot verbs for scripts) and <c>flowfleet shell</c> (interactive).</summary>
public static class FleetCliCommands
{
    public static Command Devices(TextWriter output, TextWriter error)
    {
        var terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var devices = new Command("devices", "Drive the fleet of a running server (list, call, config, track, ota, groups, pending, login)")
        {
            FleetCommandLine.ServerOption, FleetCommandLine.TokenOption, FleetCommandLine.SettingsOption, FleetCommandLine.JsonOption,
        };
        foreach (var verb in FleetCommandLine.Verbs((parse, _) => FleetCommandLine.OpenAsync(parse, output, FleetCommandLine.WaitForConsoleEnter, terminal), error, shell: false))
        {
            devices.Add(verb);
        }
        return devices;
    }

    public static Command Shell(TextWriter output, TextWriter error)
    {
        var shell = new Command("shell", "Interactive fleet shell against a running server: select devices, call, track, update")
        {
            FleetCommandLine.ServerOption, FleetCommandLine.TokenOption, FleetCommandLine.SettingsOption, FleetCommandLine.JsonOption,
        };
        shell.SetAction(async (parse, ct) =>
        {
            var interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && !Console.IsInputRedirected;
            IInputSource? keys = interactive ? new ConsoleKeys() : null;
            // Piped commands: a line is the next command, not "Enter" — live views end by --count/--for there.
            Func<CancellationToken, Task> enter = keys is null ? token => Task.Delay(Timeout.Infinite, token) : token => FleetShell.WaitForKeyEnter(keys, token);
            try
            {
                await using var session = await FleetCommandLine.OpenAsync(parse, output, enter, interactive);
                var history = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? Path.Combine(home, ".flowfleet_history") : null;
                return await new FleetShell(session, keys, keys is null ? Console.In : null, error, history).RunAsync(ct);
            }
            catch (FleetCliException ex)
            {
                await error.WriteLineAsync(ex.Message);
                return ex.ExitCode;
            }
        });
        return shell;
    }

    private sealed class ConsoleKeys : IInputSource
    {
        public bool ByPassProcessing => false;

        public bool IsKeyAvailable() => Console.KeyAvailable;

        public ConsoleKeyInfo ReadKey() => Console.ReadKey(intercept: true);
    }
}
