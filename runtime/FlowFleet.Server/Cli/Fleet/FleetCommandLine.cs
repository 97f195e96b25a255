using System.CommandLine;
using Spectre.Console;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>
/// The fleet verbs as System.CommandLine commands, defined once and used twice: under <c>flowfleet devices</c> (one-shot,
/// a new session per command) and as the interactive shell's grammar (one session, its selection as the default).
/// </summary>
public static class FleetCommandLine
{
    public static readonly Option<string?> ServerOption = new("--server") { Description = "FlowFleet server, e.g. http://127.0.0.1:7011 (or FLOWFLEET_SERVER, or 'server:' in --settings)", Recursive = true };
    public static readonly Option<string?> TokenOption = new("--token") { Description = "API token (or FLOWFLEET_TOKEN, or 'token:' in --settings); 'flowfleet devices login' gets one", Recursive = true };
    public static readonly Option<string?> SettingsOption = new("--settings") { Description = "YAML settings: server, token, select, timeout, parallel, json", Recursive = true };
    public static readonly Option<bool?> JsonOption = new("--json") { Description = "JSON output for scripts", Recursive = true };

    /// <summary>The session a verb runs in, and the exit code a failure turns into.</summary>
    public delegate Task<FleetSession> SessionFactory(ParseResult parse, CancellationToken ct);

    public static IEnumerable<Command> Verbs(SessionFactory sessions, TextWriter error, bool shell)
    {
        var select = new Option<string?>("--select", "-s") { Description = "Devices: an id, group:NAME, tag:NAME, model:X, search:TEXT, online, offline or * (default: the selection)" };
        Command Verb(string name, string description, params Symbol[] symbols)
        {
            var c = new Command(name, description);
            foreach (var symbol in symbols)
            {
                switch (symbol)
                {
                    case Argument a:
                        c.Add(a);
                        break;
                    case Option o:
                        c.Add(o);
                        break;
                }
            }
            return c;
        }
        void Run(Command c, Func<FleetSession, FleetSelection, ParseResult, CancellationToken, Task<int>> action) =>
            c.SetAction(async (parse, ct) =>
            {
                try
                {
                    var session = await sessions(parse, ct);
                    try
                    {
                        var selection = c.Options.Contains(select) && parse.GetValue(select) is { Length: > 0 } text ? new FleetSelection(text) : session.Selection;
                        return await action(session, selection, parse, ct);
                    }
                    finally
                    {
                        if (!shell)
                        {
                            await session.DisposeAsync();
                        }
                    }
                }
                catch (FleetCliException ex)
                {
                    await error.WriteLineAsync(ex.Message);
                    return ex.ExitCode;
                }
            });

        var filter = new Argument<string?>("FILTER") { Description = "id, group:NAME, tag:NAME, model:X, search:TEXT, online, offline (comma-joined) or *", Arity = ArgumentArity.ZeroOrOne };
        var list = Verb("list", "List devices (all, or those matching FILTER)", filter);
        Run(list, (s, _, p, ct) => FleetVerbs.ListAsync(s, p.GetValue(filter) is { Length: > 0 } f ? new FleetSelection(f) : null, ct));
        yield return list;

        if (shell)
        {
            var target = new Argument<string?>("TARGET") { Description = "id, group:NAME, tag:NAME, model:X, search:TEXT, online, offline or * (all)", Arity = ArgumentArity.ZeroOrOne };
            var sel = Verb("select", "Choose the devices the next commands work on (the prompt shows them)", target);
            Run(sel, (s, _, p, ct) => FleetVerbs.SelectAsync(s, p.GetValue(target), ct));
            yield return sel;
        }

        var method = new Argument<string>("METHOD") { Description = "RPC method, e.g. Switch.Set" };
        var json = new Argument<string?>("PARAMS") { Description = "parameters as a JSON object, e.g. {\"id\":0,\"on\":true}", Arity = ArgumentArity.ZeroOrOne };
        var call = Verb("call", "Call METHOD on every selected device: progress, then each device's result", method, json, select);
        Run(call, (s, sel, p, ct) => FleetVerbs.CallAsync(s, sel, p.GetValue(method)!, p.GetValue(json), ct));
        yield return call;

        var component = new Argument<string?>("COMPONENT") { Description = "e.g. sys, wifi, switch:0 (all when left out)", Arity = ArgumentArity.ZeroOrOne };
        var get = Verb("get", "Read the configuration (Shelly.GetConfig) of the selected devices", component, select);
        Run(get, (s, sel, p, ct) => FleetVerbs.ConfigGetAsync(s, sel, p.GetValue(component), ct));
        var setComponent = new Argument<string>("COMPONENT") { Description = "e.g. sys, switch:0" };
        var setConfig = new Argument<string>("CONFIG") { Description = "the changes as a JSON object, e.g. {\"name\":\"Heater\"}" };
        var set = Verb("set", "Change a component's configuration (<Type>.SetConfig) on the selected devices", setComponent, setConfig, select);
        Run(set, (s, sel, p, ct) => FleetVerbs.ConfigSetAsync(s, sel, p.GetValue(setComponent)!, p.GetValue(setConfig)!, ct));
        yield return new Command("config", "Read or change device configuration") { get, set };

        var count = new Option<int?>("--count") { Description = "Stop after this many events" };
        var seconds = new Option<double?>("--for") { Description = "Stop after this many seconds" };
        var devices = Verb("devices", "Online/offline and status of the selected devices, live until Enter", select, count, seconds);
        Run(devices, (s, sel, p, ct) => FleetVerbs.TrackDevicesAsync(s, sel, new FleetVerbs.LiveLimit(p.GetValue(count), p.GetValue(seconds)), ct));
        var events = Verb("events", "Every event of the selected devices, live until Enter", select, count, seconds);
        Run(events, (s, sel, p, ct) => FleetVerbs.TrackEventsAsync(s, sel, new FleetVerbs.LiveLimit(p.GetValue(count), p.GetValue(seconds)), ct));
        yield return new Command("track", "Watch devices or events live") { devices, events };

        var stage = new Option<string>("--stage") { Description = "stable or beta", DefaultValueFactory = _ => "stable" };
        var url = new Option<string?>("--url") { Description = "Firmware URL instead of a stage" };
        var minutes = new Option<double>("--minutes") { Description = "Give up waiting after this many minutes", DefaultValueFactory = _ => 10 };
        var ota = Verb("ota", "Update the firmware of the selected online devices, with progress", select, stage, url, minutes);
        Run(ota, (s, sel, p, ct) => FleetVerbs.OtaAsync(s, sel, p.GetValue(stage)!, p.GetValue(url), p.GetValue(minutes), ct));
        yield return ota;

        var groupAction = new Argument<string?>("ACTION") { Description = "list (default), create, add, remove", Arity = ArgumentArity.ZeroOrOne };
        var groupName = new Argument<string?>("NAME") { Arity = ArgumentArity.ZeroOrOne };
        var groupIds = new Argument<string[]>("IDS") { Description = "devices (default: the selection)", Arity = ArgumentArity.ZeroOrMore };
        var groups = Verb("groups", "List groups; create NAME; add|remove NAME [IDS…]", groupAction, groupName, groupIds);
        Run(groups, (s, _, p, ct) => FleetVerbs.GroupsAsync(s, p.GetValue(groupAction), p.GetValue(groupName), p.GetValue(groupIds) ?? [], ct));
        yield return groups;

        var pendingAction = new Argument<string?>("ACTION") { Description = "list (default), accept, deny", Arity = ArgumentArity.ZeroOrOne };
        var pendingIds = new Argument<string[]>("IDS") { Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Every waiting device" };
        var pending = Verb("pending", "Devices in the waiting room: list, accept ID…|--all, deny ID…|--all", pendingAction, pendingIds, all);
        Run(pending, (s, _, p, ct) => FleetVerbs.PendingAsync(s, p.GetValue(pendingAction), p.GetValue(pendingIds) ?? [], p.GetValue(all), ct));
        yield return pending;

        if (!shell)
        {
            var user = new Option<string>("--user") { Description = "User name", DefaultValueFactory = _ => "admin" };
            var password = new Option<string?>("--password") { Description = "Password (asked when left out)" };
            var save = new Option<string?>("--save") { Description = "Write server and token to this settings file" };
            var login = Verb("login", "Log in and print a token (or --save it to a settings file)", user, password, save);
            Run(login, async (s, _, p, ct) =>
            {
                var pw = p.GetValue(password) ?? (Console.IsInputRedirected ? await Console.In.ReadLineAsync(ct) : s.Console.Prompt(new TextPrompt<string>("Password:").Secret()));
                return await FleetVerbs.LoginAsync(s, p.GetValue(user)!, pw ?? "", p.GetValue(save), ct);
            });
            yield return login;
        }
    }

    /// <summary>A session from the options, the environment and the settings file.</summary>
    public static async Task<FleetSession> OpenAsync(ParseResult parse, TextWriter output, Func<CancellationToken, Task> waitForEnter, bool terminal)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var settings = FleetCliSettings.Load(parse.GetValue(SettingsOption), parse.GetValue(ServerOption), parse.GetValue(TokenOption), parse.GetValue(JsonOption));
        var session = new FleetSession(new FleetApiClient(settings.Server, settings.Token), settings, FleetSession.ConsoleFor(output, terminal), output, waitForEnter);
        await Task.CompletedTask;
        return session;
    }

    /// <summary>Enter on the terminal (or a line on redirected input; end of input never stops a view).</summary>
    public static async Task WaitForConsoleEnter(CancellationToken ct)
    {
        if (Console.IsInputRedirected)
        {
            if (await Console.In.ReadLineAsync(ct) is null)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            return;
        }
        while (!ct.IsCancellationRequested)
        {
            if (Console.KeyAvailable && Console.ReadKey(intercept: true).Key == ConsoleKey.Enter)
            {
                return;
            }
            await Task.Delay(50, ct);
        }
    }
}
