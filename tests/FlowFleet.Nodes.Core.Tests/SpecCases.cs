using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Nodes.Core.Tests;

/// <summary>
/// Runs node cases kept as data (<c>Cases/*.json</c>), each taken from a Node-RED spec: the node's config, the messages sent
/// to it, and the messages expected at its first output in order (each listed property must match, objects by deep equality
/// whatever their key order). <c>"warn"</c> expects a warning containing the text.
/// </summary>
internal static class SpecCases
{
    public static IEnumerable<object[]> Names(string file) =>
        Load(file).Select(c => new object[] { c!["name"]!.GetValue<string>() });

    public static JsonArray Load(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cases", file)))!.AsArray();

    public static async Task RunAsync(string file, string name)
    {
        var c = Load(file).Single(x => x!["name"]!.GetValue<string>() == name)!;
        await using var h = await Flows.One(c["node"]!.ToJsonString());
        foreach (var m in c["send"]!.AsArray())
        {
            h.SendJson("n", m!.ToJsonString());
        }
        var expected = c["expect"]?.AsArray() ?? [];
        for (var i = 0; i < expected.Count; i++)
        {
            var got = await h.NextAsync("o0");
            foreach (var (key, want) in expected[i]!.AsObject())
            {
                if (want is JsonValue v && v.TryGetValue<string>(out var s) && s == "<absent>")
                {
                    Assert.False(got.Data.ContainsKey(key), $"message {i}: msg.{key} should be absent: {got}");
                    continue;
                }
                Assert.True(got.Data.ContainsKey(key), $"message {i}: no msg.{key} in {got}");
                Assert.Equal(Canonical(want), Canonical(got.Data[key]));
            }
        }
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(150));
        if (c["warn"] is { } warn)
        {
            await h.WaitForLogAsync(l => l.Message.Contains(warn.GetValue<string>(), StringComparison.Ordinal));
        }
    }

    /// <summary>JSON text with object keys sorted and numbers in one form.</summary>
    public static string Canonical(JsonNode? n) => n switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => JsonValue.Create(kv.Key).ToJsonString() + ":" + Canonical(kv.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number => FlowFleet.Runtime.Messages.JsonTools.FormatNumber(FlowFleet.Runtime.Messages.JsonTools.AsDouble(v)),
        null => "null",
        _ => n.ToJsonString(),
    };
}
