using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Tests.Messages;

public sealed class JsonToolsTests
{
    [Theory]
    [InlineData("1", "\"1\"", true)]
    [InlineData("0", "false", true)]
    [InlineData("null", "null", true)]
    [InlineData("\"a\"", "\"b\"", false)]
    [InlineData("\"\"", "0", true)]
    [InlineData("[1]", "\"1\"", true)]
    [InlineData("{}", "\"[object Object]\"", true)]
    public void Loose_equality_follows_javascript(string a, string b, bool expected) =>
        Assert.Equal(expected, JsonTools.LooseEquals(JsonNode.Parse(a), JsonNode.Parse(b)));

    [Fact]
    public void Numbers_print_as_javascript_prints_them()
    {
        Assert.Equal("3", JsonTools.ToJsString(JsonValue.Create(3.0)));
        Assert.Equal("0.1", JsonTools.ToJsString(JsonValue.Create(0.1)));
        Assert.Equal(5, JsonTools.ToNumber(JsonValue.Create(5)));
        Assert.Equal(255, JsonTools.ToNumber(JsonValue.Create("0xff")));
        Assert.True(double.IsNaN(JsonTools.ToNumber(JsonValue.Create("abc"))));
    }

    [Fact]
    public void Typeof_tells_arrays_buffers_and_null_apart()
    {
        Assert.Equal("array", JsonTools.TypeOf(new JsonArray()));
        Assert.Equal("buffer", JsonTools.TypeOf(JsonTools.Buffer([1, 2])));
        Assert.Equal("undefined", JsonTools.TypeOf(null));
    }
}
