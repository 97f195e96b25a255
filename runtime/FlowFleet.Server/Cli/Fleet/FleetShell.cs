using System.CommandLine;
using System.Text.Json.Nodes;
using RadLine;
using Spectre.Console;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>
/// <c>flowfleet shell</c>: the fleet verbs in one session against a running server, with a prompt that shows the
/// selection, history (Up/Down, kept in <c>~/.flowfleet_history</c>) and tab completion of verbs, devices, groups and
/// methods (RadLine). Without a terminal it reads commands line by line (scripts can pipe them in).
/// </summary>
public sealed class FleetShell
{
    private static readonly string[] s_verbs = ["list", "select", "call", "config", "track", "ota", "groups", "pending", "help", "exit"];
    private readonly FleetSession _session;
    private readonly IInputSource? _keys;
    private readonly TextReader? _lines;
    private readonly TextWriter _error;
    private readonly string? _historyFile;
    private readonly List<string> _history = [];
    private string _promptText = "";
    private List<string> _deviceIds = [];
    private List<string> _groupNames = [];
    private List<string> _methods = [];

    /// <param name="keys">Keystrokes for the line editor (a terminal, or a test); null reads whole lines from <paramref name="lines"/>.</param>
    public FleetShell(FleetSession session, IInputSource? keys, TextReader? lines, TextWriter error, string? historyFile)
    {
        _session = session;
        _keys = keys;
        _lines = lines;
        _error = error;
        _historyFile = historyFile;
    }

    /// <summary>Completes when Enter is pressed (ends <c>track</c> inside the shell).</summary>
    public static async Task WaitForKeyEnter(IInputSource keys, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(keys);
        while (!ct.IsCancellationRequested)
        {
            if (keys.IsKeyAvailable() && keys.ReadKey().Key == ConsoleKey.Enter)
            {
                return;
            }
            await Task.Delay(20, ct);
        }
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var root = new RootCommand("FlowFleet fleet shell");
        foreach (var verb in FleetCommandLine.Verbs((_, _) => Task.FromResult(_session), _error, shell: true))
        {
            root.Add(verb);
        }
        _session.Console.MarkupLine($"FlowFleet fleet shell on {FleetVerbs.E(_session.Client.Server)} — Tab completes, Up/Down for history, 'help', 'exit'");
        await RefreshAsync(ct);
        if (!_session.Selection.IsAll)
        {
            await FleetVerbs.SelectAsync(_session, _session.Selection.Text, ct);
        }
        LoadHistory();
        LineEditor? editor = null;
        while (!ct.IsCancellationRequested)
        {
            var prompt = $"flowfleet [[{(_session.Selection.IsAll ? "all" : FleetVerbs.E(_session.Selection.Text))}{(_session.SelectionCount is { } n ? $" · {n}" : "")}]]>";
            string? line;
            if (_keys is not null)
            {
                // RadLine's prompt is fixed per editor: a new selection gets a new editor, which is given the history so far.
                if (editor is null || prompt != _promptText)
                {
                    editor = new LineEditor(_session.Console, _keys) { Prompt = new LineEditorPrompt(prompt), Completion = new Completion(this) };
                    // One line per command: Up/Down walk the history (RadLine binds them to multi-line moves by default).
                    editor.KeyBindings.Remove(ConsoleKey.UpArrow);
                    editor.KeyBindings.Remove(ConsoleKey.DownArrow);
                    editor.KeyBindings.Add<PreviousHistoryCommand>(ConsoleKey.UpArrow);
                    editor.KeyBindings.Add<NextHistoryCommand>(ConsoleKey.DownArrow);
                    foreach (var h in _history)
                    {
                        editor.History.Add(h);
                    }
                }
                _promptText = prompt;
                line = await editor.ReadLine(ct);
            }
            else
            {
                _session.Console.Markup(prompt + " ");
                line = await _lines!.ReadLineAsync(ct);
                _session.Console.WriteLine(line ?? "");
            }
            if (line is null)
            {
                break;
            }
            line = line.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            _history.Add(line);
            AppendHistory(line);
            if (line is "exit" or "quit")
            {
                break;
            }
            if (line is "help" or "?")
            {
                Help(root);
                continue;
            }
            var parse = root.Parse(Tokenize(line));
            if (parse.Errors.Count > 0)
            {
                foreach (var e in parse.Errors)
                {
                    await _error.WriteLineAsync(e.Message);
                }
                continue;
            }
            await parse.InvokeAsync(cancellationToken: ct);
            if (line.StartsWith("select", StringComparison.Ordinal) || line.StartsWith("groups", StringComparison.Ordinal) || line.StartsWith("pending", StringComparison.Ordinal))
            {
                await RefreshAsync(ct);
            }
        }
        return 0;
    }

    /// <summary>
    /// Words of a shell line: whitespace separates, quotes group (and are removed), and a JSON object or array stays one
    /// word with its quotes — <c>call Switch.Set {"id":0, "on":true}</c> is three words.
    /// </summary>
    public static List<string> Tokenize(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var words = new List<string>();
        var i = 0;
        while (i < line.Length)
        {
            if (char.IsWhiteSpace(line[i]))
            {
                i++;
                continue;
            }
            var start = i;
            if (line[i] is '{' or '[')
            {
                var depth = 0;
                var inString = false;
                for (; i < line.Length; i++)
                {
                    var c = line[i];
                    if (inString)
                    {
                        if (c == '\\')
                        {
                            i++;
                        }
                        else if (c == '"')
                        {
                            inString = false;
                        }
                    }
                    else if (c == '"')
                    {
                        inString = true;
                    }
                    else if (c is '{' or '[')
                    {
                        depth++;
                    }
                    else if (c is '}' or ']' && --depth == 0)
                    {
                        i++;
                        break;
                    }
                }
                words.Add(line[start..Math.Min(i, line.Length)]);
            }
            else if (line[i] is '"' or '\'')
            {
                var quote = line[i++];
                var end = line.IndexOf(quote, i);
                end = end < 0 ? line.Length : end;
                words.Add(line[i..end]);
                i = end + 1;
            }
            else
            {
                while (i < line.Length && !char.IsWhiteSpace(line[i]))
                {
                    i++;
                }
                words.Add(line[start..i]);
            }
        }
        return words;
    }

    private void Help(RootCommand root)
    {
        var table = new Table().AddColumns("command", "what it does");
        foreach (var c in root.Subcommands)
        {
            table.AddRow(FleetVerbs.E(c.Name + (c.Subcommands.Count > 0 ? " " + string.Join("|", c.Subcommands.Select(x => x.Name)) : "")), FleetVerbs.E(c.Description));
        }
        table.AddRow("exit", "Leave the shell");
        _session.Console.Write(table);
    }

    /// <summary>What completion offers: device ids, groups, methods of a selected device.</summary>
    private async Task RefreshAsync(CancellationToken ct)
    {
        try
        {
            _deviceIds = [.. (await FleetSelection.All.DevicesAsync(_session.Client, ct)).Select(d => d["id"]!.ToString())];
            _groupNames = [.. ((await _session.Client.GetAsync("api/groups", ct)) as JsonArray ?? []).Select(g => g?["name"]?.ToString() ?? "")];
            var first = _session.Selection.IsAll ? _deviceIds.FirstOrDefault() : (await _session.Selection.DevicesAsync(_session.Client, ct)).FirstOrDefault()?["id"]?.ToString();
            if (first is not null)
            {
                _methods = [.. ((await _session.Client.GetAsync("api/devices/" + Uri.EscapeDataString(first), ct))?["methods"] as JsonArray ?? []).Select(m => m?.ToString() ?? "")];
            }
        }
        catch (FleetCliException ex)
        {
            await _error.WriteLineAsync(ex.Message);
        }
    }

    internal IEnumerable<string>? Complete(string prefix, string word)
    {
        // RadLine's word may stop at ':' or '.': complete the whole shell word and hand back the part after the prefix.
        var tail = prefix[(prefix.LastIndexOf(' ') + 1)..];
        var words = prefix[..^tail.Length].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        IEnumerable<string> options = words.Length switch
        {
            0 => s_verbs,
            _ when words[^1] is "-s" or "--select" || (words.Length == 1 && words[0] == "select") => Targets(),
            1 => words[0] switch
            {
                "track" => ["devices", "events"],
                "config" => ["get", "set"],
                "groups" => ["list", "create", "add", "remove"],
                "pending" => ["list", "accept", "deny"],
                "call" => _methods,
                _ => [],
            },
            2 when words[0] is "groups" && words[1] is "add" or "remove" => _groupNames,
            _ when words[0] is "pending" => _deviceIds,
            _ => [],
        };
        var full = tail + word;
        var matches = options.Where(o => o.StartsWith(full, StringComparison.OrdinalIgnoreCase)).Select(o => o[tail.Length..]).ToList();
        return matches.Count == 0 ? null : matches;
    }

    private IEnumerable<string> Targets() =>
        _groupNames.Select(g => "group:" + g).Concat(["online", "offline", "*"]).Concat(_deviceIds);

    private void LoadHistory()
    {
        if (_historyFile is not null && File.Exists(_historyFile))
        {
            _history.AddRange(File.ReadLines(_historyFile).TakeLast(500));
        }
    }

    private void AppendHistory(string line)
    {
        if (_historyFile is null)
        {
            return;
        }
        try
        {
            File.AppendAllLines(_historyFile, [line]);
        }
        catch (IOException)
        {
            // History is a convenience; a read-only home must not stop the shell.
        }
    }

    private sealed class Completion(FleetShell shell) : ITextCompletion
    {
        public IEnumerable<string>? GetCompletions(string prefix, string word, string suffix) => shell.Complete(prefix, word);
    }
}
