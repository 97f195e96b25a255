using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class DeployTests
{
    private const string TwoChains = """
    [{"id":"t","type":"tab","label":"one"},
     {"id":"c1","type":"test-counter","z":"t","x":10,"y":10,"wires":[["o1"]]},
     {"id":"o1","type":"helper","z":"t","x":10,"y":10,"wires":[]},
     {"id":"c2","type":"test-counter","z":"t","name":"second","x":10,"y":10,"wires":[["o2"]]},
     {"id":"o2","type":"helper","z":"t","x":10,"y":10,"wires":[]}]
    """;

    [Fact]
    public async Task Nodes_deploy_restarts_only_changed_nodes_and_keeps_the_state_of_the_rest()
    {
        await using var h = await FlowHarness.LoadAsync(TwoChains);
        var c1 = h.Engine.GetNode("c1");
        var c2 = h.Engine.GetNode("c2");
        h.Send("c1", JsonValue.Create(1));
        h.Send("c2", JsonValue.Create(1));
        await h.NextAsync("o1");
        await h.NextAsync("o2");

        var changed = TwoChains.Replace("\"name\":\"second\"", "\"name\":\"renamed\"", StringComparison.Ordinal)
            .Replace("\"id\":\"c1\",\"type\":\"test-counter\",\"z\":\"t\",\"x\":10", "\"id\":\"c1\",\"type\":\"test-counter\",\"z\":\"t\",\"x\":99", StringComparison.Ordinal);
        var result = await h.Engine.DeployAsync(JsonNode.Parse(changed)!, DeployType.Nodes);

        Assert.Equal(1, result.Started);
        Assert.Same(c1, h.Engine.GetNode("c1"));
        Assert.NotSame(c2, h.Engine.GetNode("c2"));
        h.Send("c1", JsonValue.Create(2));
        Assert.Equal(2, FlowFleet.Runtime.Messages.JsonTools.ToNumber((await h.NextAsync("o1")).Data["count"]));
    }

    [Fact]
    public async Task Flows_deploy_restarts_changed_nodes_and_everything_wired_to_them()
    {
        await using var h = await FlowHarness.LoadAsync(TwoChains);
        var c1 = h.Engine.GetNode("c1");
        var o2 = h.Engine.GetNode("o2");
        var changed = TwoChains.Replace("\"name\":\"second\"", "\"name\":\"renamed\"", StringComparison.Ordinal);
        await h.Engine.DeployAsync(JsonNode.Parse(changed)!, DeployType.Flows);
        Assert.Same(c1, h.Engine.GetNode("c1"));
        Assert.NotSame(o2, h.Engine.GetNode("o2"));
    }

    [Fact]
    public async Task Full_deploy_restarts_everything()
    {
        await using var h = await FlowHarness.LoadAsync(TwoChains);
        var c1 = h.Engine.GetNode("c1");
        await h.Engine.DeployAsync(JsonNode.Parse(TwoChains)!, DeployType.Full);
        Assert.NotSame(c1, h.Engine.GetNode("c1"));
    }

    [Fact]
    public async Task An_invalid_document_is_rejected_whole_and_the_running_flows_keep_running()
    {
        await using var h = await FlowHarness.LoadAsync(TwoChains);
        var rev = h.Engine.Rev;
        var bad = """
        [{"id":"t","type":"tab"},
         {"id":"a","type":"test-counter","z":"t","x":0,"y":0,"wires":[["missing"]]},
         {"id":"a","type":"helper","z":"t","x":0,"y":0,"wires":[]},
         {"id":"b","type":"helper","z":"nowhere","x":0,"y":0,"wires":[]}]
        """;
        var ex = await Assert.ThrowsAsync<FlowValidationException>(() => h.Engine.DeployAsync(JsonNode.Parse(bad)!));
        Assert.Contains(ex.Errors, e => e.Contains("Duplicate id a", StringComparison.Ordinal));
        await Assert.ThrowsAsync<FlowValidationException>(() => h.Engine.DeployAsync(JsonNode.Parse("{\"not\":\"an array\"}")!));
        await Assert.ThrowsAsync<FlowValidationException>(() => h.Engine.DeployAsync(JsonNode.Parse("""
            [{"id":"t","type":"tab"},{"id":"a","type":"helper","z":"t","x":0,"y":0,"wires":[["ghost"]]}]
            """)!));
        Assert.Equal(rev, h.Engine.Rev);
        h.Send("c1", JsonValue.Create(1));
        await h.NextAsync("o1");
    }

    [Fact]
    public void Validation_names_each_problem_precisely()
    {
        var ex = Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("""
            [{"id":"t","type":"tab"},
             {"id":"a","type":"helper","z":"t","x":0,"y":0,"wires":[["ghost"]]},
             {"id":"b","type":"helper","z":"nowhere","x":0,"y":0},
             {"id":"s","type":"subflow:nope","z":"t","x":0,"y":0}]
            """));
        Assert.Contains("Node a (helper) is wired to missing node ghost", ex.Errors);
        Assert.Contains("Node b (helper) is on a missing tab or subflow nowhere", ex.Errors);
        Assert.Contains("Node s is an instance of missing subflow nope", ex.Errors);
        Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("not json"));
    }

    [Fact]
    public void Wires_and_properties_that_cannot_be_read_are_refused_with_what_is_wrong()
    {
        // The document reads ids, types and wires from its own bytes (no parsed object is built for them): each shape a
        // parsed object would refuse, or the engine could not wire, is named.
        var ex = Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("""
            [{"id":"t","type":"tab"},
             {"id":"a","type":"helper","z":"t","x":0,"y":0,"wires":"b"},
             {"id":"b","type":"helper","z":"t","x":0,"y":0,"wires":[["a",7],"c",null]},
             {"id":"c","type":"helper","z":"t","x":0,"y":0,"wires":[["a"]]}]
            """));
        Assert.Contains("Node a: wires must be an array of arrays", ex.Errors);
        Assert.Contains("Node b: wires[0] holds a non-string id", ex.Errors);
        Assert.Contains("Node b: wires[1] must be an array of node ids", ex.Errors);
        var twice = Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("""
            [{"id":"t","type":"tab"},{"id":"c","type":"helper","z":"t","x":0,"y":0,"name":"one","name":"two"}]
            """));
        Assert.Contains("Node c has the property 'name' twice", twice.Errors);
        // Escaped names are the same names; an id with an escape is read as the parse reads it.
        var dup = Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("""
            [{"id":"t","type":"tab"},{"id":"n\u00e9","type":"helper","z":"t","x":0,"y":0,"\u0077ires":[],"wires":[]}]
            """));
        Assert.Contains("Node n\u00e9 has the property 'wires' twice", dup.Errors);
        var doc = FlowDocument.Parse("""
            [{"id":"t","type":"tab"},
             {"id":"n\u00e9","type":"helper","z":"t","x":0,"y":0,"d":true,"g":"grp","wires":[null,["m"]],"credentials":{}},
             {"id":"m","type":"helper","z":"t","x":0,"y":0}]
            """);
        var node = doc.ById["n\u00e9"];
        Assert.Equal("n\u00e9", doc.IdOf(node));
        Assert.Equal("helper", doc.TypeOf(node));
        Assert.Equal("t", doc.ZOf(node));
        Assert.True(doc.IsDisabled(node));
        Assert.False(doc.IsDisabled(doc.ById["m"]));
        Assert.True(doc.HasCredentials);
        Assert.False(FlowDocument.Parse("[]").HasCredentials);
    }

    [Fact]
    public async Task Unknown_node_types_and_properties_survive_a_round_trip_and_do_not_run()
    {
        var flows = """
        [{"id":"t","type":"tab","label":"x","custom":{"deep":[1,2,{"a":null}]}},
         {"id":"u","type":"node-red-contrib-something","z":"t","x":1,"y":2,"wires":[["o"]],"weird":"yes","n":1.5},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[],"extra":true},
         {"id":"cfg","type":"mqtt-broker","broker":"localhost"}]
        """;
        await using var h = await FlowHarness.LoadAsync(flows);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(flows), h.Engine.Current.Raw));
        Assert.Contains(h.Engine.Warnings, w => w.Contains("node-red-contrib-something", StringComparison.Ordinal));
        Assert.Contains(h.Engine.Nodes, n => n.Id == "u" && !n.Known && n.Status.Text == "unknown type");
    }

    [Fact]
    public async Task Stop_and_start_flows_keeps_the_document()
    {
        await using var h = await FlowHarness.LoadAsync(TwoChains);
        await h.Engine.StopFlowsAsync();
        Assert.False(h.Engine.Started);
        Assert.Empty(h.Engine.Nodes);
        await h.Engine.StartFlowsAsync();
        h.Send("c1", JsonValue.Create(1));
        await h.NextAsync("o1");
    }
}
