using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>
/// One fleet CLI session: the server connection, the current selection (the shell's prompt shows it), where output goes
/// (a console for people, or JSON for scripts with <c>--json</c>) and how a live view is ended (Enter, or a count/time).
/// </summary>
public sealed class FleetSession : IAsyncDisposable
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    public FleetSession(FleetApiClient client, FleetCliSettings settings, IAnsiConsole console, TextWriter output, Func<CancellationToken, Task> waitForEnter)
    {
        Client = client;
        Settings = settings;
        Console = console;
        Output = output;
        WaitForEnter = waitForEnter;
        Selection = settings.Select is { Length: > 0 } s ? new FleetSelection(s) : FleetSelection.All;
    }

    public FleetApiClient Client { get; }

    public FleetCliSettings Settings { get; }

    public FleetSelection Selection { get; set; }

    /// <summary>How many devices the selection had when it was made (shown in the prompt).</summary>
    public int? SelectionCount { get; set; }

    public IAnsiConsole Console { get; }

    /// <summary>Where <c>--json</c> output goes, one document per command (or one line per event while tracking).</summary>
    public TextWriter Output { get; }

    public bool Json => Settings.Json;

    /// <summary>Completes when the user presses Enter (ends <c>track</c>).</summary>
    public Func<CancellationToken, Task> WaitForEnter { get; }

    public void WriteJson(JsonNode? node, bool indented = true)
    {
        Output.WriteLine(node is null ? "null" : indented ? node.ToJsonString(s_indented) : node.ToJsonString());
        Output.Flush();
    }

    /// <summary>The console for people: colours and live redraws on a terminal, plain text otherwise.</summary>
    /// <param name="ansi">Escape sequences even without a terminal (the shell's line editor needs them).</param>
    public static IAnsiConsole ConsoleFor(TextWriter writer, bool terminal, bool ansi = false)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal ? AnsiSupport.Detect : ansi ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        if (!terminal)
        {
            console.Profile.Width = 160;
        }
        return console;
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}
