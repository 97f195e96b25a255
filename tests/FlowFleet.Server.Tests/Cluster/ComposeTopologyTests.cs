using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Tests;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// deploy/cluster/docker-compose.yml's topology without docker (no daemon here): the real haproxy (Debian's, installed by
/// test.sh) runs the shipped deploy/cluster/haproxy.cfg with only its addresses rewritten to loopback ports, in front of
/// three FlowFleet processes started with exactly the compose file's FLOWFLEET_* settings as environment variables, on
/// PostgreSQL and nats-server. Devices, the login and REST go through haproxy's port only; killing an instance moves its
/// devices through haproxy to the others with nothing lost from the registry, and once it is back haproxy sends it new
/// devices (a rolling restart). Not covered: the images and docker networking.
/// </summary>
public sealed class ComposeTopologyTests
{
    // Generous: three servers, haproxy, PostgreSQL and NATS share a loaded 2-core machine with other test runs.
    private const int Slow = 90_000;
    private const string AdminPassword = "compose-admin-pw-1";

    private static readonly string s_deploy = Path.Combine(CommsAndHttpTests.RepoRoot(), "deploy", "cluster");

    [Fact]
    public async Task The_compose_settings_behind_the_shipped_haproxy_config_spread_devices_and_survive_losing_an_instance()
    {
        var settings = ComposeClusterEnv(await File.ReadAllLinesAsync(Path.Combine(s_deploy, "docker-compose.yml")));
        var pg = await PostgresServer.SharedAsync();
        var connection = await pg.CreateDatabaseAsync();
        await using var nats = await NatsServer.StartAsync();
        Dictionary<string, string> Env(string instance)
        {
            var env = new Dictionary<string, string>(settings, StringComparer.Ordinal)
            {
                // The compose file's values name its containers (postgres, nats) and read its .env: the test's own instead.
                ["FLOWFLEET_Storage__ConnectionString"] = connection,
                ["FLOWFLEET_Cluster__Nats"] = nats.Url,
                ["FLOWFLEET_ADMIN_PASSWORD"] = AdminPassword,
                // The compose default is 'manual' (an operator approves each new device); the simulated devices are admitted at once.
                ["FLOWFLEET_Fleet__Admission"] = "auto",
                ["FLOWFLEET_Cluster__Instance"] = instance,
            };
            return env;
        }
        var root = Directory.CreateTempSubdirectory("flowfleet-compose-").FullName;
        var servers = new ChildServer?[3];
        Process? haproxy = null;
        var haproxyLog = new StringBuilder();
        try
        {
            // ff1 first: it creates the schema and the admin; ff2 and ff3 start on a database that is ready.
            for (var i = 0; i < 3; i++)
            {
                servers[i] = await ChildServer.StartWithEnvironmentAsync(Directory.CreateDirectory(Path.Combine(root, $"ff{i + 1}")).FullName, Env($"ff{i + 1}"));
            }
            var port = FreePort();
            var cfg = Path.Combine(root, "haproxy.cfg");
            await File.WriteAllTextAsync(cfg, HaproxyConfig(await File.ReadAllLinesAsync(Path.Combine(s_deploy, "haproxy.cfg")), port, servers.Select(s => s!.Client.BaseAddress!.Port).ToArray()));
            haproxy = StartHaproxy(cfg, haproxyLog);
            var lb = new Uri($"http://127.0.0.1:{port}");
            using var anonymous = new HttpClient { BaseAddress = lb, Timeout = TimeSpan.FromSeconds(30) };
            await Poll.UntilAsync(async () => !haproxy.HasExited ? await StatusAsync(anonymous, "/healthz") == HttpStatusCode.OK
                    : throw new InvalidOperationException($"haproxy exited ({haproxy.ExitCode}):\n{Log(haproxyLog)}"),
                () => "haproxy forwards /healthz\n" + Log(haproxyLog), Slow);
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(anonymous, "/api/devices"));

            // Log in through haproxy (the admin the compose file's ADMIN_PASSWORD made, one for the cluster).
            using var login = await anonymous.PostAsync("/red/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = "admin", ["password"] = AdminPassword,
            }));
            Assert.True(login.IsSuccessStatusCode, await login.Content.ReadAsStringAsync());
            var token = (string)(await login.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!;
            using var api = new HttpClient { BaseAddress = lb, Timeout = TimeSpan.FromSeconds(30) };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            // Devices connect to haproxy only; leastconn spreads them over the instances.
            var sim = new SimOptions { MinBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(5) };
            await using var fleet = new SimFleet($"ws://127.0.0.1:{port}/shelly", 6, "plus1pm", sim);
            await fleet.StartAsync();
            var ids = fleet.Devices.Select(d => d.Id).ToArray();
            await Poll.UntilAsync(() => ClusterChecks.OnlineAsync(api, ids), () => $"all of {string.Join(", ", ids)} online through haproxy", Slow);
            var owned = new int[3];
            await Poll.UntilAsync(async () =>
                {
                    for (var i = 0; i < 3; i++)
                    {
                        owned[i] = await OwnedAsync(servers[i]!);
                    }
                    return owned.Sum() == ids.Length;
                },
                () => $"the instances account for every device (owned: {string.Join("/", owned)})", Slow);
            Assert.True(owned.Count(n => n > 0) > 1, $"leastconn spreads the devices over more than one instance (owned: {string.Join("/", owned)})");

            // An RPC through haproxy's REST reaches a device, wherever it is connected.
            var rpc = await api.PostAsJsonAsync($"/api/devices/{ids[0]}/rpc", new { method = "Switch.Set", @params = new { id = 0, on = true } });
            Assert.True(rpc.IsSuccessStatusCode, await rpc.Content.ReadAsStringAsync());
            Assert.False((await rpc.Content.ReadFromJsonAsync<JsonObject>())!["was_on"]!.GetValue<bool>());
            Assert.True(fleet[ids[0]].Status("switch:0")!["output"]!.GetValue<bool>());
            var named = await api.PatchAsJsonAsync($"/api/devices/{ids[1]}", new { name = "Kitchen", tags = new[] { "compose" } });
            Assert.True(named.IsSuccessStatusCode, await named.Content.ReadAsStringAsync());

            // Rolling restart, first step: the instance holding the most devices dies. haproxy's check marks it down (its
            // sessions end with the process anyway); its devices reconnect through haproxy to the other two.
            var victim = Array.IndexOf(owned, owned.Max());
            await servers[victim]!.StopAsync(kill: true);
            var alive = Enumerable.Range(0, 3).Where(i => i != victim).ToArray();
            await Poll.UntilAsync(async () =>
                {
                    var sum = 0;
                    foreach (var i in alive)
                    {
                        sum += owned[i] = await OwnedAsync(servers[i]!);
                    }
                    return sum == ids.Length;
                },
                () => $"the two instances left hold every device (owned: {string.Join("/", alive.Select(i => owned[i]))})\n" + Log(haproxyLog), Slow);
            await Poll.UntilAsync(async () => (await Task.WhenAll(ids.Select(id => ClusterChecks.AnswersAsync(api, id)))).All(x => x),
                "every device answers an RPC through haproxy again", Slow);
            Assert.True(await ClusterChecks.OnlineAsync(api, ids));
            var list = await api.GetFromJsonAsync<JsonObject>("/api/devices?limit=100");
            Assert.Equal(ids.Order(), list!["items"]!.AsArray().Select(d => (string)d!["id"]!).Order());
            Assert.Contains(list["items"]!.AsArray(), d => (string?)d!["name"] == "Kitchen" && d["tags"]!.AsArray().Any(t => (string?)t == "compose"));
            Assert.Contains($"ff{victim + 1} is DOWN", Log(haproxyLog), StringComparison.Ordinal);

            // Second step: the instance comes back on its port (as a restarted container keeps its name). haproxy's check
            // marks it UP after two good checks (rise 2), and leastconn sends it the next devices: it holds none.
            var port0 = servers[victim]!.Client.BaseAddress!.Port;
            await servers[victim]!.DisposeAsync();
            servers[victim] = null;
            servers[victim] = await ChildServer.StartWithEnvironmentAsync(Path.Combine(root, $"ff{victim + 1}"), Env($"ff{victim + 1}"), port0);
            Assert.Equal(port0, servers[victim]!.Client.BaseAddress!.Port);
            await Poll.UntilAsync(() => Log(haproxyLog).Contains($"ff{victim + 1} is UP", StringComparison.Ordinal), () => $"haproxy marks ff{victim + 1} up again\n" + Log(haproxyLog), Slow);
            await using var more = new SimFleet($"ws://127.0.0.1:{port}/shelly", 2, "plus1pm", sim, firstIndex: ids.Length);
            await more.StartAsync();
            var all = ids.Concat(more.Devices.Select(d => d.Id)).ToArray();
            await Poll.UntilAsync(() => ClusterChecks.OnlineAsync(api, all), () => $"all of {string.Join(", ", all)} online through haproxy", Slow);
            await Poll.UntilAsync(async () => await OwnedAsync(servers[victim]!) > 0, $"the restarted ff{victim + 1} gets new devices", Slow);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{ex.Message}\n--- haproxy ---\n{Log(haproxyLog)}\n" +
                string.Join('\n', servers.Select((s, i) => $"--- ff{i + 1} ---\n{(s is null ? "(not started)" : string.Join('\n', s.Log.Split('\n').TakeLast(30)))}")), ex);
        }
        finally
        {
            if (haproxy is not null)
            {
                if (!haproxy.HasExited)
                {
                    haproxy.Kill(entireProcessTree: true);
                    await haproxy.WaitForExitAsync();
                }
                haproxy.Dispose();
            }
            foreach (var s in servers)
            {
                if (s is not null)
                {
                    await s.DisposeAsync();
                }
            }
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// The FLOWFLEET_* settings of the compose file's <c>x-cluster-env</c> block (two-space indented <c>KEY: value</c>
    /// lines), checked against what the test knows, so a setting added, renamed or dropped there fails here.
    /// </summary>
    private static Dictionary<string, string> ComposeClusterEnv(string[] lines)
    {
        var start = Array.FindIndex(lines, l => l.StartsWith("x-cluster-env:", StringComparison.Ordinal));
        Assert.True(start >= 0, "docker-compose.yml has an x-cluster-env block");
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(start + 1).TakeWhile(l => l.Length == 0 || l.StartsWith(' ')))
        {
            var text = line.Trim();
            if (text.Length == 0 || text.StartsWith('#'))
            {
                continue;
            }
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            env[text[..colon]] = text[(colon + 1)..].Trim().Trim('"');
        }
        Assert.Equal(
            ["FLOWFLEET_ADMIN_PASSWORD", "FLOWFLEET_Cluster__LeaseSeconds", "FLOWFLEET_Cluster__Nats", "FLOWFLEET_Cluster__Subject",
             "FLOWFLEET_Fleet__Admission", "FLOWFLEET_Storage__ConnectionString", "FLOWFLEET_Storage__Provider"],
            env.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("postgres", env["FLOWFLEET_Storage__Provider"]);
        Assert.Equal("${FLEET_ADMISSION:-manual}", env["FLOWFLEET_Fleet__Admission"]);
        // Each instance adds its name to the shared block.
        for (var i = 1; i <= 3; i++)
        {
            Assert.Contains(lines, l => l.Trim() == $"environment: {{ <<: *cluster-env, FLOWFLEET_Cluster__Instance: ff{i} }}");
        }
        return env;
    }

    /// <summary>The shipped config with its frontend bound to a loopback port and ff1..ff3 pointed at the instances' ports.</summary>
    private static string HaproxyConfig(string[] lines, int port, int[] instances)
    {
        var config = lines.ToList();
        Replace(config, "bind :7011", $"bind 127.0.0.1:{port}");
        for (var i = 0; i < instances.Length; i++)
        {
            Replace(config, $"server ff{i + 1} ff{i + 1}:7011", $"server ff{i + 1} 127.0.0.1:{instances[i]}");
        }
        // maxconn 200000 needs ~400,000 file descriptors and haproxy refuses to start below that ("Cannot raise FD limit");
        // the docker compose file raises the lb container's limit, a test process can't: maxconn is fitted to the hard limit.
        Replace(config, "maxconn 200000", $"maxconn {Math.Min(200_000, (HardFileLimit() - 100) / 2)}");
        // Only the check interval is shortened (5 s → 1 s) so the dead instance is marked down in ~2 s instead of ~10 s;
        // fall 2, rise 2, shutdown-sessions, leastconn, the httpchk and the timeouts stay as shipped.
        Replace(config, "default-server check inter 5s fall 2 rise 2 on-marked-down shutdown-sessions", "default-server check inter 1s fall 2 rise 2 on-marked-down shutdown-sessions");
        return string.Join('\n', config) + "\n";
    }

    /// <summary>This process's hard limit of open files (haproxy, its child, can raise its soft limit up to it).</summary>
    private static int HardFileLimit()
    {
        var line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var hard = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return hard == "unlimited" ? int.MaxValue : (int)Math.Min(int.MaxValue, long.Parse(hard, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void Replace(List<string> lines, string shipped, string replacement)
    {
        var at = lines.FindIndex(l => l.Trim() == shipped);
        Assert.True(at >= 0, $"deploy/cluster/haproxy.cfg has the line '{shipped}'");
        lines[at] = lines[at].Replace(shipped, replacement, StringComparison.Ordinal);
    }

    private static Process StartHaproxy(string cfg, StringBuilder log)
    {
        // Debian puts it in /usr/sbin, which a user's PATH may lack. -db: stay in the foreground (no daemon), so the test owns the process and kills it at the end.
        var start = new ProcessStartInfo(File.Exists("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy", ["-f", cfg, "-db"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("haproxy is not installed (./test.sh installs Debian's haproxy)", ex);
        }
        void Append(string? line)
        {
            if (line is not null)
            {
                lock (log)
                {
                    log.AppendLine(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Log(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    private static async Task<HttpStatusCode?> StatusAsync(HttpClient client, string path)
    {
        try
        {
            using var response = await client.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>How many devices are connected to this instance (its /healthz, asked directly: an observation, not a path devices use).</summary>
    private static async Task<int> OwnedAsync(ChildServer s)
    {
        var health = await s.Client.GetFromJsonAsync<JsonObject>("/healthz");
        return (int)health!["cluster"]!["devicesOwned"]!;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
