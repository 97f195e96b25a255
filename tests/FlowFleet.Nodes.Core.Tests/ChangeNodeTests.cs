using System.Text.Json.Nodes;

namespace FlowFleet.Nodes.Core.Tests;

public sealed class ChangeNodeTests
{
    [Fact]
    public async Task Set_move_and_delete_apply_in_order()
    {
        await using var h = await Flows.One("""
            {"type":"change","rules":[
              {"t":"set","p":"payload.site","pt":"msg","to":"plant-1","tot":"str"},
              {"t":"set","p":"count","pt":"msg","to":"5","tot":"num"},
              {"t":"move","p":"topic","pt":"msg","to":"device","tot":"msg"},
              {"t":"delete","p":"payload.tmp","pt":"msg"}]}
            """);
        h.SendJson("n", """{"payload":{"a":1,"tmp":true},"topic":"device/7"}""");
        var m = await h.NextAsync("o0");
        Assert.Equal("""{"a":1,"site":"plant-1"}""", m.Payload!.ToJsonString());
        Assert.Equal(5, Flows.Num(m.Data["count"]));
        Assert.Equal("device/7", m.Data["device"]!.GetValue<string>());
        Assert.False(m.Data.ContainsKey("topic"));
    }

    [Fact]
    public async Task Change_replaces_every_occurrence_and_a_whole_match_takes_the_typed_value()
    {
        await using var h = await Flows.One("""
            {"type":"change","rules":[{"t":"change","p":"payload","pt":"msg","from":"a.","fromt":"str","to":"x","tot":"str"},
                                      {"t":"change","p":"topic","pt":"msg","from":"42","fromt":"str","to":"42","tot":"num"}]}
            """);
        h.SendJson("n", """{"payload":"a.a.ab","topic":"42"}""");
        var m = await h.NextAsync("o0");
        Assert.Equal("xxab", m.Payload!.GetValue<string>());
        Assert.Equal(42, Flows.Num(m.Data["topic"]));
    }

    [Fact]
    public async Task Regex_change_uses_groups()
    {
        await using var h = await Flows.One("""{"type":"change","rules":[{"t":"change","p":"payload","pt":"msg","from":"(\\w+)@(\\w+)","fromt":"re","to":"$2:$1","tot":"str"}]}""");
        h.Send("n", JsonValue.Create("user@host"));
        Assert.Equal("host:user", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }

    [Fact]
    public async Task Flow_and_global_context_are_set_and_read()
    {
        await using var h = await Flows.One("""
            {"type":"change","rules":[{"t":"set","p":"last","pt":"flow","to":"payload","tot":"msg"},
                                      {"t":"set","p":"payload","pt":"msg","to":"last","tot":"flow"},
                                      {"t":"set","p":"g","pt":"global","to":"{\"k\":1}","tot":"json"}]}
            """);
        h.Send("n", JsonValue.Create(7));
        Assert.Equal(7, Flows.Num((await h.NextAsync("o0")).Payload));
        Assert.Equal(7, Flows.Num(h.Engine.GetHost("n")!.FlowContext.Get("last")));
        Assert.Equal(1, Flows.Num(h.Engine.GetHost("n")!.GlobalContext.Get("g.k")));
    }

    [Fact]
    public async Task Legacy_single_rule_configs_are_migrated()
    {
        await using var h = await Flows.One("""{"type":"change","action":"replace","property":"payload","to":"legacy"}""");
        h.Send("n", JsonValue.Create(1));
        Assert.Equal("legacy", (await h.NextAsync("o0")).Payload!.GetValue<string>());
    }
}
