using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>
/// Starts Node-RED and FlowFleet once per test run, deploys every case (each on its own tab) to both, drives them and
/// keeps what each sent on its debug channel. The tests then only compare.
/// </summary>
public sealed class DifferentialFixture : IAsyncLifetime
{
    /// <summary>Environment both runtimes see (cases read it through <c>env</c> typed inputs).</summary>
    public static readonly IReadOnlyDictionary<string, string> Env = new Dictionary<string, string>
    {
        ["FF_DIFF_VAR"] = "from-process", ["FF_DIFF_NUM"] = "42",
    };

    private readonly Dictionary<string, ExpandedCase> _cases = new(StringComparer.Ordinal);
    private NodeRedProcess? _nodeRed;
    private ServerFixture? _flowFleet;
    private CommsCollector? _nrComms;
    private CommsCollector? _ffComms;

    /// <summary>Set when Node-RED could not be installed (<c>FLOWFLEET_NODE_RED_SKIP</c> from <c>./test.sh</c>).</summary>
    public string? SkipReason { get; private set; }

    public IReadOnlyList<DiffCase> Cases { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Cases = DiffCase.LoadAll();
        var redJs = NodeRedProcess.FindInstall();
        if (redJs is null)
        {
            SkipReason = Environment.GetEnvironmentVariable("FLOWFLEET_NODE_RED_SKIP");
            if (SkipReason is { Length: > 0 })
            {
                Console.Error.WriteLine("SKIPPED differential tests against Node-RED: " + SkipReason);
                return;
            }
            throw new InvalidOperationException(
                "Node-RED 4 is not installed; ./test.sh installs it (npm install node-red@4 into $HOME/.cache/flowfleet/node-red)");
        }
        var startNodeRed = NodeRedProcess.StartAsync(redJs, Env);
        var startFlowFleet = ServerFixture.StartAsync(noAuth: true, dataDir: null,
            [.. Env.SelectMany(kv => new[] { "--Flows:Env:" + kv.Key, kv.Value }),
             "--Flows:ContextStorage:default:Module", "memory", "--Flows:ContextStorage:second:Module", "memory"]);
        _nodeRed = await startNodeRed;
        _flowFleet = await startFlowFleet;
        _nrComms = await CommsCollector.ConnectAsync(Ws(_nodeRed.BaseUri, "comms"));
        _ffComms = await CommsCollector.ConnectAsync(Ws(_flowFleet.BaseUri, "red/comms"));

        var flows = new JsonArray();
        for (var i = 0; i < Cases.Count; i++)
        {
            var expanded = Cases[i].Expand(i);
            _cases[Cases[i].Key] = expanded;
            foreach (var n in expanded.Nodes)
            {
                flows.Add(n!.DeepClone());
            }
        }
        if (Environment.GetEnvironmentVariable("FLOWFLEET_DIFF_FLOWS") is { Length: > 0 } dump)
        {
            await File.WriteAllTextAsync(dump, flows.ToJsonString());
        }
        // Both debug subscriptions must be live before the deploy, so injects that fire once on start are seen too.
        await Task.WhenAll(SentinelAsync(_nodeRed.BaseUri, "", _nrComms, []), SentinelAsync(_flowFleet.BaseUri, "red/", _ffComms, []));
        // Node-RED answers a deploy before its flows have started: the sentinel, deployed with the cases, coming back again
        // shows they run, so no inject is pressed before its node exists.
        await Task.WhenAll(SentinelAsync(_nodeRed.BaseUri, "", _nrComms, flows), SentinelAsync(_flowFleet.BaseUri, "red/", _ffComms, flows));
        await Parallel.ForEachAsync(_cases.Values, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, _) => await RunAsync(c));
        await QuietAsync();
    }

    /// <summary>
    /// Proves a runtime's debug subscription is live: a one-inject flow is deployed and pressed until its message comes back
    /// on the collector. A runtime handles a socket's frames in order, so the press that comes back was made after the
    /// subscribe frame took effect; the real deploy then replaces the flow.
    /// </summary>
    private static async Task SentinelAsync(Uri baseUri, string api, CommsCollector comms, JsonArray with)
    {
        var flow = JsonNode.Parse("""
            [{"id":"sentinel_tab","type":"tab","label":"sentinel"},
             {"id":"sentinel_inj","type":"inject","z":"sentinel_tab","props":[{"p":"payload"}],"payload":"sentinel","payloadType":"str","repeat":"","crontab":"","once":false,"topic":"","x":100,"y":100,"wires":[["sentinel_dbg"]]},
             {"id":"sentinel_dbg","type":"debug","z":"sentinel_tab","active":true,"tosidebar":true,"console":false,"tostatus":false,"complete":"payload","targetType":"msg","x":300,"y":100,"wires":[]}]
            """)!.AsArray();
        foreach (var n in with)
        {
            flow.Add(n!.DeepClone());
        }
        // One more sentinel message than before this deploy: extra presses of an earlier round cannot count.
        var arrivals = comms.CountFor("sentinel_") + 1;
        await DeployAsync(baseUri, api + "flows", flow);
        using var http = new HttpClient { BaseAddress = baseUri };
        for (var press = 1; ; press++)
        {
            using var response = await http.PostAsync(api + "inject/sentinel_inj", new StringContent("{}", Encoding.UTF8, "application/json"));
            if (response.StatusCode != HttpStatusCode.NotFound && !response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"{baseUri}{api}inject/sentinel_inj: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            try
            {
                // Once the node runs and the subscription is live the message is back within milliseconds; the bound only
                // spaces presses (a 404 is a node not started yet).
                await comms.WaitForAsync("sentinel_", arrivals, TimeSpan.FromSeconds(1));
                return;
            }
            catch (TimeoutException) when (press < 30)
            {
                // Pressed before the subscribe frame was handled or before the flow started: press again.
            }
        }
    }

    private static Uri Ws(Uri http, string path) => new(http.ToString().Replace("http", "ws", StringComparison.Ordinal) + path);

    private static async Task DeployAsync(Uri baseUri, string path, JsonArray flows)
    {
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(flows.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Add("Node-RED-Deployment-Type", "full");
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.NoContent)
        {
            throw new InvalidOperationException($"deploy to {baseUri} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private async Task RunAsync(ExpandedCase c)
    {
        using var nr = new HttpClient { BaseAddress = _nodeRed!.BaseUri };
        using var ff = new HttpClient { BaseAddress = _flowFleet!.BaseUri };
        foreach (var step in c.Steps)
        {
            if (step["inject"]?.GetValue<string>() is { } id)
            {
                var body = step["props"] is JsonArray props ? new JsonObject { ["__user_inject_props__"] = props.DeepClone() }.ToJsonString() : "{}";
                await Task.WhenAll(
                    nr.PostAsync("inject/" + id, new StringContent(body, Encoding.UTF8, "application/json")),
                    ff.PostAsync("red/inject/" + id, new StringContent(body, Encoding.UTF8, "application/json")));
            }
            else if (step["await"] is JsonValue n)
            {
                // A bound, not a pass condition: a side that never sends them fails the comparison, which says what differs.
                var want = n.GetValue<int>();
                try
                {
                    await Task.WhenAll(_nrComms!.WaitForAsync(c.Prefix, want, TimeSpan.FromSeconds(5)), _ffComms!.WaitForAsync(c.Prefix, want, TimeSpan.FromSeconds(5)));
                }
                catch (TimeoutException)
                {
                }
            }
        }
    }

    /// <summary>
    /// Waits until every case (but the listed differences) shows as many messages on one side as on the other (a side
    /// slowed by a loaded machine catches up; a case that really differs waits out the bound and then fails its
    /// comparison), and then until neither side has sent anything for a while (timers in cases are short; this catches
    /// messages beyond the other side's).
    /// </summary>
    private async Task QuietAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && Cases.Any(c => c.Known is null && SentByEach(c) is var (nr, ff) && nr != ff))
        {
            await Task.Delay(200);
        }
        var last = (-1, -1);
        var stableSince = DateTime.UtcNow;
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var now = (_nrComms!.Total, _ffComms!.Total);
            if (now != last)
            {
                last = now;
                stableSince = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - stableSince > TimeSpan.FromSeconds(1.5))
            {
                return;
            }
            await Task.Delay(100);
        }
    }

    /// <summary>How many messages of the case each side showed, as compared.</summary>
    private (int NodeRed, int FlowFleet) SentByEach(DiffCase c)
    {
        var prefix = _cases[c.Key].Prefix;
        return (DebugNormalizer.Normalize(_nrComms!.For(prefix), c).Count, DebugNormalizer.Normalize(_ffComms!.For(prefix), c).Count);
    }

    /// <summary>Null when both sides showed the same messages, else what differs.</summary>
    public string? Difference(DiffCase c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var expanded = _cases[c.Key];
        var nr = DebugNormalizer.Normalize(_nrComms!.For(expanded.Prefix), c);
        var ff = DebugNormalizer.Normalize(_ffComms!.For(expanded.Prefix), c);
        var ids = nr.Concat(ff).Select(p => p["id"]?.GetValue<string>() ?? "").Distinct().Order(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var a = nr.Where(p => p["id"]?.GetValue<string>() == id).ToList();
            var b = ff.Where(p => p["id"]?.GetValue<string>() == id).ToList();
            for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
            {
                var x = i < a.Count ? a[i] : null;
                var y = i < b.Count ? b[i] : null;
                if (!JsonNode.DeepEquals(x, y))
                {
                    return $"debug '{id}' message {i + 1} (Node-RED sent {a.Count}, FlowFleet {b.Count}):\n  Node-RED:  {x?.ToJsonString() ?? "(nothing)"}\n  FlowFleet: {y?.ToJsonString() ?? "(nothing)"}";
                }
            }
        }
        // A case that expects silence says so ("none": true); otherwise silence means the case checks nothing.
        return nr.Count == 0 && c.Source["none"]?.GetValue<bool>() != true ? "Node-RED sent nothing: the case checks nothing" : null;
    }

    public async Task DisposeAsync()
    {
        if (_nrComms is not null)
        {
            await _nrComms.DisposeAsync();
        }
        if (_ffComms is not null)
        {
            await _ffComms.DisposeAsync();
        }
        if (_nodeRed is not null)
        {
            await _nodeRed.DisposeAsync();
        }
        if (_flowFleet is not null)
        {
            await _flowFleet.DisposeAsync();
        }
    }
}
