using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Tests.Messages;

public sealed class PropertyPathTests
{
    [Fact]
    public void Parses_dots_indexes_and_quoted_keys()
    {
        var p = PropertyPath.Parse("payload.a[0][\"b c\"].d['e.f']");
        Assert.Equal(new object[] { "payload", "a", 0, "b c", "d", "e.f" }, p.Segments);
    }

    [Theory]
    [InlineData("payload..a")]
    [InlineData("payload.")]
    [InlineData("payload[x]")]
    [InlineData("a b")]
    [InlineData("")]
    public void Rejects_malformed_expressions(string text) => Assert.Throws<FormatException>(() => PropertyPath.Parse(text));

    [Fact]
    public void Set_creates_missing_objects_and_arrays()
    {
        var root = new JsonObject();
        PropertyPath.Parse("payload.list[2].name").Set(root, "x");
        Assert.Equal("""{"payload":{"list":[null,null,{"name":"x"}]}}""", root.ToJsonString());
        Assert.Equal("x", PropertyPath.Parse("payload.list[2].name").Get(root)!.GetValue<string>());
        Assert.True(PropertyPath.Parse("payload.list[2].name").Delete(root));
        Assert.False(PropertyPath.Parse("payload.list[2].name").TryGet(root, out _));
    }

    [Fact]
    public void Setting_a_node_that_already_has_a_parent_copies_it()
    {
        var root = new JsonObject { ["a"] = new JsonObject { ["x"] = 1 } };
        PropertyPath.Parse("b").Set(root, root["a"]);
        root["a"]!["x"] = 2;
        Assert.Equal(1, JsonTools.ToNumber(root["b"]!["x"]));
    }
}
