using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// The hub merges status reports from the frame's parsed document (<see cref="JsonElement"/>), not from a tree: every
/// sequence of reports must leave exactly the bytes, status and drop counts the tree merge leaves — escaped names, nested
/// objects, nulls, more than 8 names (the tree fallback), non-object components, limits and <c>ts</c> included.
/// </summary>
public sealed class DeviceStateDocumentMergeTests
{
    private static readonly string[][] Sequences =
    [
        [
            """{"switch:0":{"output":true,"apower":12.5,"aenergy":{"total":100.25,"by_minute":[1,2,3]}},"wifi":{"rssi":-60},"sys":{"uptime":5},"ts":1}""",
            """{"switch:0":{"apower":1234567.875,"aenergy":{"total":100000.5}},"ts":2}""",
            """{"switch:0":{"apower":0,"temperature":{"tC":41.5,"tF":106.7}},"sys":null}""",
            """{"input:0":{"state":false},"switch:0":{"aenergy":null,"output":false}}""",
        ],
        [
            """{"sw\u0069tch:0":{"outp\u0075t":true,"n":"caf\u00e9"},"x":5,"ts":1.5}""",
            """{"switch:0":{"output":false,"new":"<b>&'"},"x":{"now":"an object"}}""",
            """{"switch:0":{"out\u0070ut":true},"x":7}""",
        ],
        [
            """{"em:0":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}}""",
            """{"em:0":{"j":0,"i":1,"h":2,"g":3,"f":4,"e":5,"d":6,"c":7,"b":8,"a":9,"k":null,"z":{"deep":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}}}}""",
            """{"em:0":{"z":{"deep":{"a":null}},"a":null}}""",
        ],
        [
            """{"light:0":"not an object","arr":[1,{"a":2}]}""",
            """{"light:0":{"now":"object"},"arr":{"a":1}}""",
            """{"light:0":{"brightness":50},"arr":[3]}""",
        ],
        [
            """{"a:0":{"v":1},"b:0":{"v":2},"c:0":{"v":3},"d:0":{"v":4}}""",
            """{"e:0":{"v":5},"a:0":{"v":"a much longer value than fits the limits of this device"}}""",
            """{"b:0":{"w":2}}""",
        ],
        [
            // A name that is not ASCII as its raw bytes, and reports of exactly 8 names (the document merge's most).
            """{"café:0":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8},"switch:0":{"x":1}}""",
            """{"café:0":{"h":0,"g":1,"f":2,"e":3,"d":4,"c":5,"b":6,"a":7},"switch:0":{"x":2,"y":{"p":1}}}""",
            """{"café:0":{"a":null,"i":9},"switch:0":{"y":{"p":null,"q":2}}}""",
            """{"caf\u00e9:0":{"z":1},"switch:0":{"x":3}}""",
        ],
    ];

    public static TheoryData<int, bool> Cases()
    {
        var data = new TheoryData<int, bool>();
        for (var i = 0; i < Sequences.Length; i++)
        {
            data.Add(i, false);
            data.Add(i, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Merging_from_the_document_leaves_what_merging_from_a_tree_leaves(int sequence, bool fullFirst)
    {
        var limits = sequence == 4 ? new StatusLimits(4, 8, 120) : StatusLimits.Default;
        var fromTree = new DeviceState("tree");
        var fromDocument = new DeviceState("document");
        var reports = Sequences[sequence];
        for (var i = 0; i < reports.Length; i++)
        {
            var full = fullFirst && i == 0;
            // The hub hands the tree merge its report without "ts"; the document merge skips it itself.
            var tree = JsonNode.Parse(reports[i])!.AsObject();
            tree.Remove("ts");
            using var document = JsonDocument.Parse(reports[i]);
            var treeDropped = full ? fromTree.ReplaceStatus(tree, limits) : fromTree.MergeStatus(tree, limits);
            var documentDropped = full ? fromDocument.ReplaceStatus(document.RootElement, limits) : fromDocument.MergeStatus(document.RootElement, limits);
            Assert.Equal(treeDropped, documentDropped);
            Assert.Equal(fromTree.StatusJson(), fromDocument.StatusJson());
            foreach (var (component, _) in fromTree.Status)
            {
                Assert.Equal(fromTree.StatusBytes(component), fromDocument.StatusBytes(component));
            }
        }
        Assert.NotEqual("{}", fromDocument.StatusJson());
    }

    [Fact]
    public void A_report_over_the_component_limit_is_dropped_whole_not_counting_ts()
    {
        var limits = new StatusLimits(2, 8, 1024);
        var d = new DeviceState("dev1");
        using var fits = JsonDocument.Parse("""{"a:0":{},"b:0":{},"c:0":{},"ts":1}""");
        Assert.Equal(1, d.MergeStatus(fits.RootElement, limits));
        using var over = JsonDocument.Parse("""{"a:0":{},"b:0":{},"c:0":{},"d:0":{},"ts":1}""");
        Assert.Equal(4, d.ReplaceStatus(over.RootElement, limits));
        Assert.Equal("""{"a:0":{},"b:0":{}}""", d.StatusJson());
    }

    [Fact]
    public void An_event_from_a_frame_builds_its_tree_once_on_first_read_and_shares_it()
    {
        var json = """{"switch:0":{"apower":12.5}}"""u8.ToArray();
        var e = new DeviceEvent(DeviceEventKind.Status, "dev1", 1.5, json);
        Assert.Equal(json, e.Json.ToArray());
        var first = e.Data;
        Assert.Same(first, e.Data);
        Assert.Equal(12.5, first!["switch:0"]!["apower"]!.GetValue<double>());
        var fromTree = new DeviceEvent(DeviceEventKind.Status, "dev1", new JsonObject { ["x"] = 1 }, 1.5);
        Assert.True(fromTree.Json.IsEmpty);
        Assert.Equal(1, fromTree.Data!["x"]!.GetValue<int>());
    }

    [Fact]
    public void A_status_event_over_a_report_reads_its_components_and_writes_its_json_without_ts()
    {
        using var frame = JsonDocument.Parse("""{"method":"NotifyStatus","params":{"switch:0":{"apower":12.5},"ts":1.5,"sys":{"uptime":3}}}""");
        var e = new DeviceEvent(DeviceEventKind.Status, "dev1", 1.5, frame.RootElement.GetProperty("params").Clone());
        var names = new List<string>();
        foreach (var component in e.Components)
        {
            names.Add(component.Name);
        }
        Assert.Equal(["switch:0", "sys"], names);
        Assert.Equal("""{"switch:0":{"apower":12.5},"sys":{"uptime":3}}""", System.Text.Encoding.UTF8.GetString(e.Json.Span));
        Assert.Same(e.Data, e.Data);
        Assert.False(e.Data!.AsObject().ContainsKey("ts"));
        Assert.Equal(3, e.Data["sys"]!["uptime"]!.GetValue<int>());

        using var noTs = JsonDocument.Parse("""{"switch:0":{"output":true}}""");
        var plain = new DeviceEvent(DeviceEventKind.Status, "dev1", 2, noTs.RootElement.Clone());
        Assert.Equal("""{"switch:0":{"output":true}}""", System.Text.Encoding.UTF8.GetString(plain.Json.Span));
        Assert.True(new DeviceEvent(DeviceEventKind.Status, "dev1", new JsonObject { ["x"] = 1 }, 1.5).Components.IsEmpty);
        Assert.True(new DeviceEvent(DeviceEventKind.Event, "dev1", 1.5, """{"event":"single_push"}"""u8.ToArray()).Components.IsEmpty);
    }
}
