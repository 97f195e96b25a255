using System.Text.Json.Nodes;
using FlowFleet.Editor.Model;

namespace FlowFleet.Editor.Tests;

public sealed class WorkspaceTests
{
    private const string NodeRedExport = """
        [{"id":"f1","type":"tab","label":"Kitchen","disabled":false,"info":"","env":[]},
         {"id":"n1","type":"inject","z":"f1","name":"tick","props":[{"p":"payload"}],"repeat":"","crontab":"","once":false,"onceDelay":0.1,"topic":"","payload":"","payloadType":"date","x":120,"y":80,"wires":[["n2"]]},
         {"id":"n2","type":"some-contrib-node","z":"f1","custom":{"keep":[1,2]},"x":320,"y":80,"wires":[["n3"]]},
         {"id":"n3","type":"debug","z":"f1","name":"","active":true,"tosidebar":true,"console":false,"tostatus":false,"complete":"false","x":520,"y":80,"wires":[]},
         {"id":"c1","type":"mqtt-broker","name":"broker","broker":"localhost","port":"1883"}]
        """;

    [Fact]
    public void Import_then_export_all_gives_back_the_node_red_json_unchanged()
    {
        var ws = new FlowWorkspace();
        ws.Load([], null);
        var blankTab = FlowWorkspace.IdOf(ws.Tabs.Single());
        ws.Import(FlowWorkspace.ParseImport(NodeRedExport));
        var exported = ws.Export("all").OfType<JsonObject>().Where(o => FlowWorkspace.IdOf(o) != blankTab).ToList();
        var original = JsonNode.Parse(NodeRedExport)!.AsArray();
        Assert.Equal(original.Count, exported.Count);
        foreach (var o in original.OfType<JsonObject>())
        {
            Assert.True(JsonNode.DeepEquals(o, exported.Single(e => FlowWorkspace.IdOf(e) == FlowWorkspace.IdOf(o))), o.ToJsonString());
        }
    }

    [Fact]
    public void Importing_twice_remaps_duplicate_ids_with_wires_and_tabs()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        var again = ws.Import(FlowWorkspace.ParseImport(NodeRedExport));
        var tab = again.Single(o => FlowWorkspace.TypeOf(o) == "tab");
        Assert.NotEqual("f1", FlowWorkspace.IdOf(tab));
        var inject = again.Single(o => FlowWorkspace.TypeOf(o) == "inject");
        var contrib = again.Single(o => FlowWorkspace.TypeOf(o) == "some-contrib-node");
        Assert.Equal(FlowWorkspace.IdOf(tab), FlowWorkspace.Z(inject));
        Assert.Equal(FlowWorkspace.IdOf(contrib), inject["wires"]![0]![0]!.GetValue<string>());
        Assert.Equal(10, ws.Items.Count);
    }

    [Fact]
    public void Nodes_wires_delete_undo_redo_and_changed_markers()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        Assert.False(ws.HasChanges);
        var desc = new JsonObject { ["type"] = "debug", ["category"] = "common", ["outputs"] = 0, ["defaults"] = new JsonObject { ["active"] = new JsonObject { ["value"] = true } } };
        var added = ws.AddNode("debug", desc, 333, 207);
        Assert.Equal(340, FlowWorkspace.Num(added["x"]));
        Assert.Equal(200, FlowWorkspace.Num(added["y"]));
        Assert.True(ws.IsChanged(added));
        Assert.True(ws.Connect("n1", 0, FlowWorkspace.IdOf(added)));
        Assert.False(ws.Connect("n1", 0, FlowWorkspace.IdOf(added)));
        Assert.Equal(2, ws.WiresOn("f1").Count(w => w.From == "n1"));
        ws.Selected.Clear();
        ws.Selected.Add("n2");
        ws.DeleteSelection();
        Assert.Null(ws.Find("n2"));
        Assert.DoesNotContain(ws.WiresOn("f1"), w => w.To == "n2");
        ws.Undo();
        Assert.NotNull(ws.Find("n2"));
        Assert.Contains(ws.WiresOn("f1"), w => w.To == "n2");
        ws.Redo();
        Assert.Null(ws.Find("n2"));
        ws.MarkDeployed("rev2");
        Assert.False(ws.HasChanges);
    }

    [Fact]
    public void Copy_and_paste_make_new_ids_and_keep_internal_wires_only()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        ws.Selected.Add("n1");
        ws.Selected.Add("n2");
        var text = ws.Copy();
        var pasted = ws.Paste(text);
        Assert.Equal(2, pasted.Count);
        Assert.All(pasted, p => Assert.DoesNotContain(FlowWorkspace.IdOf(p), new[] { "n1", "n2" }));
        var pastedContrib = pasted.Single(p => FlowWorkspace.TypeOf(p) == "some-contrib-node");
        Assert.Empty(pastedContrib["wires"]![0]!.AsArray());
        Assert.Equal(340, FlowWorkspace.Num(pastedContrib["x"]));
        Assert.Throws<FormatException>(() => FlowWorkspace.ParseImport("{nope"));
        Assert.Throws<FormatException>(() => FlowWorkspace.ParseImport("""[{"type":"x"}]"""));
    }

    [Fact]
    public void Node_icons_come_from_the_material_set_with_a_fallback()
    {
        Assert.Contains("<path", NodeIcons.Svg("bug_report"), StringComparison.Ordinal);
        Assert.NotEqual(NodeIcons.Svg("bug_report"), NodeIcons.Svg("wifi"));
        Assert.Equal(NodeIcons.Svg("circle"), NodeIcons.Svg("no-such-icon"));
        Assert.Contains("<path", NodeIcons.Svg("database"), StringComparison.Ordinal);
    }

    [Fact]
    public void Grouping_wraps_the_selection_and_follows_moves()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        ws.Selected.Add("n1");
        ws.Selected.Add("n3");
        var group = ws.GroupSelection("pair")!;
        Assert.Equal("group", FlowWorkspace.TypeOf(group));
        Assert.Equal("f1", FlowWorkspace.Z(group));
        // Node x/y are centres (120 × 30 here): the box starts 20 px left of n1's left edge and above its top edge.
        Assert.Equal(120 - 60 - 20, FlowWorkspace.Num(group["x"]));
        Assert.Equal(80 - 15 - 20, FlowWorkspace.Num(group["y"]));
        Assert.Equal(FlowWorkspace.IdOf(group), ws.Find("n1")!["g"]!.GetValue<string>());
        ws.MoveNodes([("n3", 900, 300)]);
        Assert.Equal(900 + 60 + 20 - 40, FlowWorkspace.Num(group["w"]));
        ws.Ungroup(FlowWorkspace.IdOf(group));
        Assert.Null(ws.Find(FlowWorkspace.IdOf(group)));
        Assert.Null(ws.Find("n1")!["g"]);
    }

    [Fact]
    public void Splicing_inserts_a_node_into_a_wire_in_one_undo_step()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        var fn = ws.AddNode("function", new JsonObject { ["outputs"] = 1, ["inputs"] = 1 }, 200, 200);
        var id = FlowWorkspace.IdOf(fn);
        ws.MoveNodes([(id, 220, 80)], new Wire("n1", 0, "n2"));
        Assert.Equal([id], ws.Find("n1")!["wires"]![0]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(["n2"], fn["wires"]![0]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(220, FlowWorkspace.Num(fn["x"]));
        ws.Undo();
        Assert.Equal(["n2"], ws.Find("n1")!["wires"]![0]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(200, FlowWorkspace.Num(ws.Find(id)!["y"]));
        Assert.False(ws.SpliceWire(id, new Wire("n1", 0, "nope")));
    }

    [Fact]
    public void Disable_and_paste_at_a_point()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        ws.SetDisabled(["n1", "n3"], true);
        Assert.True(ws.Find("n1")!["d"]!.GetValue<bool>());
        ws.SetDisabled(["n1"], false);
        Assert.Null(ws.Find("n1")!["d"]);
        ws.Selected.Clear();
        ws.Selected.Add("n1");
        ws.Selected.Add("n3");
        var pasted = ws.Paste(ws.Copy(), 1000, 500);
        // n1 (120) and n3 (520) are centred on 320, 80: the pair moves by (680, 420).
        Assert.Equal([800.0, 1200.0], pasted.Select(p => FlowWorkspace.Num(p["x"])).Order());
        Assert.All(pasted, p => Assert.Equal(500, FlowWorkspace.Num(p["y"])));
    }

    [Theory]
    [InlineData("timestamp", 0, 120)]
    [InlineData("msg.payload", 1, 140)]
    [InlineData("function", 1, 120)]
    [InlineData("a", 1, 100)]
    [InlineData("a much longer label than usual", 1, 260)]
    public void Node_widths_follow_node_red(string label, int inputs, double width) => Assert.Equal(width, NodeGeometry.Width(label, inputs));

    [Fact]
    public void Geometry_is_node_red_centre_based()
    {
        Assert.Equal(30, NodeGeometry.Height(1));
        Assert.Equal(60, NodeGeometry.Height(4));
        Assert.Equal(0, NodeGeometry.PortY(0, 1));
        Assert.Equal(-6.5, NodeGeometry.PortY(0, 2));
        Assert.Equal(6.5, NodeGeometry.PortY(1, 2));
        // A 100 px node: edges on the grid, so its centre is at 10 mod 20 (Node-RED's 130, 150, ...).
        Assert.Equal(130, NodeGeometry.SnapX(127, 100));
        Assert.Equal(140, NodeGeometry.SnapX(137, 120));
        Assert.Equal("M 100 80 C 175 80 225 80 300 80", NodeGeometry.WirePath(100, 80, 300, 80));
        // Unnamed nodes are labelled by their type's own label function, which travels with its descriptor.
        var registry = new FlowFleet.Runtime.Nodes.NodeRegistry().RegisterAssembly(typeof(FlowFleet.Nodes.Core.Common.DebugNode).Assembly);
        var debug = JsonNode.Parse("""{"type":"debug","complete":"false","name":""}""")!.AsObject();
        Assert.Equal("msg.payload", NodeGeometry.Label(debug, DescriptorHints.ToJson(registry.Find("debug")!)));
        Assert.Equal("debug", NodeGeometry.Label(debug, registry.Find("debug")!.ToJson()));
        var inject = JsonNode.Parse("""{"type":"inject","payload":"21","payloadType":"num","topic":""}""")!.AsObject();
        Assert.Equal("21", NodeGeometry.Label(inject, DescriptorHints.ToJson(registry.Find("inject")!)));
    }

    [Fact]
    public void Changes_that_net_to_nothing_clear_the_changed_markers()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        ws.MoveNodes([("n1", 400, 300)]);
        ws.RenameTab("f1", "Elsewhere");
        Assert.True(ws.HasChanges);
        ws.MoveNodes([("n1", 120, 80)]);
        ws.RenameTab("f1", "Kitchen");
        Assert.False(ws.IsChanged(ws.Find("n1")!));
        Assert.False(ws.HasChanges);
    }

    [Fact]
    public void Help_markdown_is_rendered_and_escaped()
    {
        var html = Markdown.ToHtml("Sends `msg.payload` **now**.\n\n- one *item*\n- <b>two</b>");
        Assert.Equal("<p>Sends <code>msg.payload</code> <strong>now</strong>.</p><ul><li>one <em>item</em></li><li>&lt;b&gt;two&lt;/b&gt;</li></ul>", html);
    }

    [Fact]
    public void Credentials_typed_into_a_form_stay_out_of_exports_and_the_clipboard()
    {
        var ws = new FlowWorkspace();
        ws.Load(JsonNode.Parse(NodeRedExport)!.AsArray(), "rev1");
        var desc = new JsonObject { ["type"] = "tls-config", ["category"] = "config", ["defaults"] = new JsonObject { ["name"] = new JsonObject { ["value"] = "" } } };
        var tls = ws.AddNode("tls-config", desc, 0, 0);
        var id = FlowWorkspace.IdOf(tls);
        var edited = (JsonObject)tls.DeepClone();
        edited["credentials"] = new JsonObject { ["keydata"] = "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----", ["passphrase"] = "pw-secret" };
        ws.UpdateNode(id, edited);
        ws.Find("n3")!["tls"] = id;

        // Deploy sends the workspace's items: they keep the credentials until then.
        Assert.NotNull(ws.Find(id)!["credentials"]);
        ws.Selected.Clear();
        ws.Selected.Add(id);
        ws.Selected.Add("n3");
        foreach (var text in new[] { ws.Export("all").ToJsonString(), ws.Export("flow").ToJsonString(), ws.Export("selection").ToJsonString(), ws.Copy() })
        {
            Assert.Contains(id, text, StringComparison.Ordinal);
            Assert.DoesNotContain("SECRETKEY", text, StringComparison.Ordinal);
            Assert.DoesNotContain("pw-secret", text, StringComparison.Ordinal);
            Assert.DoesNotContain("credentials", text, StringComparison.Ordinal);
        }
    }
}
