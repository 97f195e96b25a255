using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Hosting;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Cli;

/// <summary>The <c>flowfleet</c> command line: run the server, export/import flows, manage users, drive the fleet.</summary>
public static class CliCommands
{
    /// <summary>
    /// The arguments handed to ASP.NET Core configuration: FlowFleet's own switches are taken out, because the configuration
    /// reader would take a value-less switch like <c>--no-auth</c> as the key of the next token.
    /// </summary>
    public static string[] HostArgs(string[] rawArgs)
    {
        ArgumentNullException.ThrowIfNull(rawArgs);
        var result = new List<string>();
        for (var i = 0; i < rawArgs.Length; i++)
        {
            if (rawArgs[i] is "--no-auth" or "--demo" or "--safe")
            {
                continue;
            }
            if (rawArgs[i] == "--data")
            {
                i++;
                continue;
            }
            result.Add(rawArgs[i]);
        }
        return [.. result];
    }

    public static RootCommand Build(string[] rawArgs, TextWriter output, TextWriter error)
    {
        var data = new Option<string>("--data") { Description = "Data directory (flows, database, keys)", DefaultValueFactory = _ => "data", Recursive = true };
        var noAuth = new Option<bool>("--no-auth") { Description = "Turn authentication off (local development only)" };
        var demo = new Option<bool>("--demo") { Description = "Start with simulated devices and the example flows" };
        var safe = new Option<bool>("--safe") { Description = "Start with flows stopped (safe mode); deploying starts them" };
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://0.0.0.0:7011)" };
        var root = new RootCommand("FlowFleet: Node-RED-compatible flows with a Shelly fleet server") { data, noAuth, demo, safe, urls };
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction(async (pr, ct) =>
        {
            try
            {
                StartWarmup.BeforeHost(pr.GetValue(data)!);
                var app = FlowFleetHost.Build(HostArgs(rawArgs), new ServerOptions { DataDirectory = pr.GetValue(data)!, NoAuth = pr.GetValue(noAuth), Demo = pr.GetValue(demo), Safe = pr.GetValue(safe), WarmUp = true });
                // The databases and the first admin (FlowFleetHost.InitializeAsync) were begun by Build beside the endpoint
                // mapping; the host awaits them before its hosted services start (InitializationGate), so before it listens.
                await app.RunAsync();
                return 0;
            }
            catch (OptionsValidationException ex)
            {
                // Settings are checked at start (ValidateOnStart): list what is wrong instead of a stack trace.
                error.WriteLine("FlowFleet did not start: invalid settings");
                foreach (var failure in ex.Failures)
                {
                    error.WriteLine("  " + failure);
                }
                return 2;
            }
        });

        var file = new Argument<string?>("FILE") { Description = "File to write (standard output when left out)", Arity = ArgumentArity.ZeroOrOne };
        var export = new Command("export", "Write the stored flows as Node-RED JSON") { file };
        export.SetAction(async (pr, ct) =>
        {
            var flows = await new FileFlowStorage(Path.Combine(pr.GetValue(data)!, "flows.json")).LoadAsync(ct) ?? [];
            var text = flows.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            if (pr.GetValue(file) is { } path)
            {
                await File.WriteAllTextAsync(path, text, ct);
                await output.WriteLineAsync($"Exported {flows.Count} objects to {path}");
            }
            else
            {
                await output.WriteLineAsync(text);
            }
            return 0;
        });
        var importFile = new Argument<string>("FILE") { Description = "Node-RED flow JSON to import" };
        var import = new Command("import", "Replace the stored flows with a file (validated first; a bad file changes nothing)") { importFile };
        import.SetAction(async (pr, ct) =>
        {
            var path = pr.GetValue(importFile)!;
            FlowDocument doc;
            try
            {
                doc = FlowDocument.Parse(await File.ReadAllTextAsync(path, ct));
            }
            catch (FlowValidationException ex)
            {
                await error.WriteLineAsync($"{path} was not imported:");
                foreach (var e in ex.Errors)
                {
                    await error.WriteLineAsync("  - " + e);
                }
                return 1;
            }
            catch (IOException ex)
            {
                await error.WriteLineAsync($"{path} cannot be read: {ex.Message}");
                return 1;
            }
            await new FileFlowStorage(Path.Combine(pr.GetValue(data)!, "flows.json")).SaveAsync(doc.Raw, ct);
            await output.WriteLineAsync($"Imported {doc.Raw.Count} objects ({doc.Tabs.Count} flows, {doc.FlowNodes.Count} nodes). A running server picks them up on restart or POST /red/flows with Node-RED-Deployment-Type: reload.");
            return 0;
        });
        root.Add(new Command("flows", "Export or import flows") { export, import });
        root.Add(UserCommands(data, output, error));
        root.Add(Ble.BleStationCommand.Create(output));
        root.Add(Fleet.FleetCliCommands.Devices(output, error));
        root.Add(Fleet.FleetCliCommands.Shell(output, error));
        return root;
    }

    private static Command UserCommands(Option<string> data, TextWriter output, TextWriter error)
    {
        var name = new Argument<string>("NAME");
        var role = new Option<string>("--role") { Description = "admin, editor, operator or viewer", DefaultValueFactory = _ => Roles.Viewer };
        var password = new Option<string?>("--password") { Description = "Password (generated and printed when left out)" };
        var groupsHelp = "Device groups the user may see and drive, comma-separated; * for all devices (the default)";
        var groups = new Option<string?>("--groups") { Description = groupsHelp };
        var add = new Command("add", "Add a user") { name, role, password, groups };
        add.SetAction((pr, ct) => WithUsers(pr.GetValue(data)!, error, async users =>
        {
            var pw = pr.GetValue(password) ?? UserService.GeneratePassword();
            await users.AddAsync(pr.GetValue(name)!, pr.GetValue(role)!, pw, ct);
            if (pr.GetValue(groups) is { } g)
            {
                await users.SetGroupsAsync(pr.GetValue(name)!, GroupList(g), ct);
            }
            await output.WriteLineAsync($"Added {pr.GetValue(name)} ({pr.GetValue(role)})" + (pr.GetValue(password) is null ? $" with password: {pw}" : ""));
        }));
        var passwdName = new Argument<string>("NAME");
        var passwdPassword = new Option<string?>("--password") { Description = "New password (generated and printed when left out)" };
        var passwd = new Command("passwd", "Set a user's password") { passwdName, passwdPassword };
        passwd.SetAction((pr, ct) => WithUsers(pr.GetValue(data)!, error, async users =>
        {
            var pw = pr.GetValue(passwdPassword) ?? UserService.GeneratePassword();
            await users.SetPasswordAsync(pr.GetValue(passwdName)!, pw, ct);
            await output.WriteLineAsync($"Password of {pr.GetValue(passwdName)} changed" + (pr.GetValue(passwdPassword) is null ? $": {pw}" : ""));
        }));
        var setName = new Argument<string>("NAME");
        var setRole = new Option<string?>("--role") { Description = "New role: admin, editor, operator or viewer" };
        var setGroups = new Option<string?>("--groups") { Description = groupsHelp };
        var set = new Command("set", "Change a user's role or device groups (ends the user's sessions)") { setName, setRole, setGroups };
        set.SetAction((pr, ct) => WithUsers(pr.GetValue(data)!, error, async users =>
        {
            var who = pr.GetValue(setName)!;
            if (pr.GetValue(setRole) is null && pr.GetValue(setGroups) is null)
            {
                throw new ArgumentException("Give --role and/or --groups");
            }
            if (pr.GetValue(setRole) is { } r)
            {
                await users.SetRoleAsync(who, r, ct);
            }
            if (pr.GetValue(setGroups) is { } g)
            {
                await users.SetGroupsAsync(who, GroupList(g), ct);
            }
            var u = (await users.FindAsync(who, ct))!;
            await output.WriteLineAsync($"{u.Name}: {u.Role}, devices: {Describe(u)}");
        }));
        var deleteName = new Argument<string>("NAME");
        var delete = new Command("delete", "Delete a user (ends the user's sessions)") { deleteName };
        delete.SetAction((pr, ct) => WithUsers(pr.GetValue(data)!, error, async users =>
        {
            await users.DeleteAsync(pr.GetValue(deleteName)!, ct);
            await output.WriteLineAsync($"Deleted {pr.GetValue(deleteName)}");
        }));
        var list = new Command("list", "List users");
        list.SetAction((pr, ct) => WithUsers(pr.GetValue(data)!, error, async users =>
        {
            foreach (var u in await users.ListAsync(ct))
            {
                await output.WriteLineAsync($"{u.Name,-20} {u.Role,-10} {Describe(u)}");
            }
        }));
        return new Command("user", "Manage users") { add, passwd, set, delete, list };
    }

    private static List<string>? GroupList(string value) =>
        value.Trim() == "*" ? null : [.. value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    private static string Describe(UserAccount u) => u.GroupList() is { } g ? "groups " + (g.Count == 0 ? "(none)" : string.Join(",", g)) : "all devices";

    private static async Task<int> WithUsers(string dataDir, TextWriter error, Func<UserService, Task> action)
    {
        Directory.CreateDirectory(dataDir);
        var services = new ServiceCollection();
        // A cluster's instances keep users in PostgreSQL (FLOWFLEET_Storage__Provider=postgres, as the server reads it).
        var shared = Cluster.ClusterFlowsSetup.SharedConnection(new ConfigurationBuilder().AddEnvironmentVariables("FLOWFLEET_").Build());
        if (shared is not null)
        {
            services.AddSingleton(new Cluster.ClusterStore(Npgsql.NpgsqlDataSource.Create(shared)));
        }
        services.AddServerDatabase(dataDir);
        services.AddSingleton<UserService>();
        await using var sp = services.BuildServiceProvider();
        await FlowFleetHost.EnsureDatabaseAsync(sp);
        try
        {
            await action(sp.GetRequiredService<UserService>());
            if (sp.GetService<Cluster.ClusterStore>() is { } store)
            {
                // The instances close the sockets of sessions this ended at once, not at their next sweep.
                await Cluster.ClusterSessions.NotifyAsync(store, "cli");
            }
            return 0;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            await error.WriteLineAsync(ex.Message);
            return 1;
        }
    }
}
