using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>
/// Node-RED's own example flows (<c>@node-red/nodes/examples</c>) as differential cases: each runs on both runtimes and
/// every inject node in it is pressed once; the debug output must match. Differences that are not FlowFleet's fault
/// (clock values, random numbers) or not fixed yet are listed with their reason in <c>NodeRedCases/examples-known.json</c>.
/// </summary>
/// <remarks>
/// Categories whose examples touch the machine (storage: files both runtimes would write at once; network: fixed ports
/// and outside hosts) are not compared here; they import and deploy in <see cref="NodeRedExampleTests"/>.
/// Repeating injects are pressed once instead of left running.
/// </remarks>
public static class ExampleCases
{
    private static readonly string[] Categories = ["common", "function", "parser", "sequence"];

    public static IEnumerable<DiffCase> Load()
    {
        if (NodeRedExampleTests.ExamplesDirectory is not { } dir || !Directory.Exists(dir))
        {
            yield break;
        }
        var knownFile = Path.Combine(DiffCase.CasesDirectory, "examples-known.json");
        var known = File.Exists(knownFile) ? JsonNode.Parse(File.ReadAllText(knownFile))!.AsObject() : [];
        foreach (var category in Categories)
        {
            var folder = Path.Combine(dir, category);
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (var file in Directory.GetFiles(folder, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var name = Path.GetRelativePath(dir, file).Replace('\\', '/');
                if (JsonNode.Parse(File.ReadAllText(file)) is not JsonArray nodes)
                {
                    continue;
                }
                var subflows = nodes.OfType<JsonObject>().Where(n => (string?)n["type"] == "subflow").Select(n => (string?)n["id"]).ToHashSet();
                var list = new JsonArray();
                var steps = new JsonArray();
                foreach (var n in nodes.OfType<JsonObject>().Select(n => (JsonObject)n.DeepClone()))
                {
                    var type = (string?)n["type"];
                    if (type == "tab")
                    {
                        continue;
                    }
                    // Clipboard exports name a tab that is not in the file: the nodes land on the case's tab.
                    if (n["z"] is JsonValue z && !subflows.Contains((string?)z))
                    {
                        n.Remove("z");
                    }
                    if (type == "inject")
                    {
                        n["repeat"] = "";
                        n["crontab"] = "";
                        if (!n.ContainsKey("z") || !subflows.Contains((string?)n["z"]))
                        {
                            steps.Add(new JsonObject { ["inject"] = (string?)n["id"] });
                        }
                    }
                    list.Add(n);
                }
                var source = new JsonObject { ["name"] = name, ["nodes"] = list, ["steps"] = steps, ["none"] = true };
                if (known[name] is JsonValue reason && reason.GetValue<string>() is { } text)
                {
                    if (text.StartsWith("clock: ", StringComparison.Ordinal))
                    {
                        // The value shown is the time of day on each runtime: compared without it.
                        source["ignore"] = new JsonArray("msg.payload", "msg");
                    }
                    else if (text.StartsWith("race ", StringComparison.Ordinal) && text.IndexOf(':', StringComparison.Ordinal) is > 5 and var colon)
                    {
                        // One debug node's value is decided by a race inside Node-RED itself (both outcomes seen there):
                        // how many messages it shows is compared, what they say is not; the rest of the example is.
                        var debugId = text[5..colon];
                        source["ignore"] = new JsonArray(debugId + "#msg", debugId + "#format");
                    }
                    else
                    {
                        source["known"] = text;
                        // Example injects are pressed back to back, so a timing-dependent difference may not show every run.
                        source["knownMayMatch"] = true;
                    }
                }
                yield return new DiffCase { File = name, NodeType = "examples/" + category, Name = name, Source = source };
            }
        }
    }
}
