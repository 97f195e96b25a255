using System.Text.Json.Nodes;
using FlowFleet.Runtime.Tests.Harness;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class SubflowTests
{
    private const string Flows = """
    [{"id":"t","type":"tab"},
     {"id":"sf","type":"subflow","name":"Tag","in":[{"x":0,"y":0,"wires":[{"id":"inner"}]}],
      "out":[{"x":0,"y":0,"wires":[{"id":"inner","port":0}]}],"env":[{"name":"TAG","type":"str","value":"default"}]},
     {"id":"inner","type":"function","z":"sf","func":"msg.payload = env.get('TAG') + ':' + msg.payload; return msg;","x":0,"y":0,"wires":[[]]},
     {"id":"i1","type":"subflow:sf","z":"t","env":[{"name":"TAG","type":"str","value":"one"}],"x":0,"y":0,"wires":[["o1"]]},
     {"id":"i2","type":"subflow:sf","z":"t","x":0,"y":0,"wires":[["o2"]]},
     {"id":"o1","type":"helper","z":"t","x":0,"y":0,"wires":[]},
     {"id":"o2","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
    """;

    [Fact]
    public async Task Each_instance_runs_its_own_copy_with_its_own_env()
    {
        await using var h = await FlowHarness.LoadAsync(Flows);
        h.Send("i1", JsonValue.Create("a"));
        h.Send("i2", JsonValue.Create("b"));
        Assert.Equal("one:a", (await h.NextAsync("o1")).Payload!.GetValue<string>());
        Assert.Equal("default:b", (await h.NextAsync("o2")).Payload!.GetValue<string>());
        Assert.Contains(h.Engine.Nodes, n => n.Id == "i1-inner");
        Assert.Contains(h.Engine.Nodes, n => n.Id == "i2-inner");
    }

    [Fact]
    public async Task Errors_without_a_catch_in_the_subflow_bubble_to_the_parent_flow()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab"},
         {"id":"sf","type":"subflow","name":"Fails","in":[{"x":0,"y":0,"wires":[{"id":"bad"}]}],"out":[]},
         {"id":"bad","type":"test-fail","z":"sf","x":0,"y":0,"wires":[]},
         {"id":"i1","type":"subflow:sf","z":"t","x":0,"y":0,"wires":[]},
         {"id":"c","type":"test-catch","z":"t","x":0,"y":0,"wires":[["o"]]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("i1", JsonValue.Create("x"));
        var m = await h.NextAsync("o");
        Assert.Equal("i1", m.Data["error"]!["source"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tab_env_and_process_env_are_visible_to_nodes()
    {
        Environment.SetEnvironmentVariable("FLOWFLEET_TEST_ENV", "from-process");
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab","label":"Main","env":[{"name":"SITE","type":"str","value":"plant-1"}]},
         {"id":"fn","type":"function","z":"t","func":"msg.payload = [env.get('SITE'), env.get('FLOWFLEET_TEST_ENV'), env.get('NR_FLOW_NAME'), env.get('NR_NODE_ID')]; return msg;","x":0,"y":0,"wires":[["o"]]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("fn", JsonValue.Create(0));
        Assert.Equal("""["plant-1","from-process","Main","fn"]""", (await h.NextAsync("o")).Payload!.ToJsonString());
    }

    [Fact]
    public async Task A_property_that_is_exactly_an_env_reference_is_replaced_when_the_node_starts()
    {
        await using var h = await FlowHarness.LoadAsync("""
        [{"id":"t","type":"tab","env":[{"name":"CODE","type":"str","value":"msg.payload = 'from env'; return msg;"}]},
         {"id":"fn","type":"function","z":"t","func":"${CODE}","x":0,"y":0,"wires":[["o"]]},
         {"id":"o","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
        """);
        h.Send("fn", JsonValue.Create(0));
        Assert.Equal("from env", (await h.NextAsync("o")).Payload!.GetValue<string>());
        Assert.Equal("${CODE}", h.Engine.Current.ById["fn"]["func"]!.GetValue<string>());
    }
}
