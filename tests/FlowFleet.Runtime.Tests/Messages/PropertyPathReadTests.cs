using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Tests.Messages;

/// <summary>
/// <see cref="PropertyPath.TryRead"/> answers as <see cref="PropertyPath.TryGet"/> does (found or not, the same JSON, the same
/// exception) over objects still held as their JSON, and reads a number or string without building the object's members.
/// </summary>
public sealed class PropertyPathReadTests
{
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_dictionary")]
    private static extern ref OrderedDictionary<string, JsonNode?>? DictionaryOf(JsonObject o);

    private const string Report = """
        {"switch:0":{"id":0,"apower":87.3,"output":true,"name":"Heater","aenergy":{"total":1001.5,"by_minute":[1,2,3]},"x":null},
         "7":{"a":[{"b":"c"}]},"arr":[10,{"k":"v"},null]}
        """;

    [Theory]
    [InlineData("payload[\"switch:0\"].apower")]
    [InlineData("payload[\"switch:0\"].output")]
    [InlineData("payload[\"switch:0\"].name")]
    [InlineData("payload[\"switch:0\"].x")]
    [InlineData("payload[\"switch:0\"].missing")]
    [InlineData("payload[\"switch:0\"].aenergy.total")]
    [InlineData("payload[\"switch:0\"].aenergy.by_minute[1]")]
    [InlineData("payload[\"switch:0\"].aenergy.by_minute[5]")]
    [InlineData("payload[\"switch:0\"].aenergy.by_minute.length")]
    [InlineData("payload[\"switch:0\"].aenergy.by_minute.length.x")]
    [InlineData("payload[\"switch:0\"].aenergy.by_minute.x")]
    [InlineData("payload[\"switch:0\"].aenergy")]
    [InlineData("payload[\"switch:0\"].apower.x")]
    [InlineData("payload[\"switch:0\"].x.y")]
    [InlineData("payload[7].a[0].b")]
    [InlineData("payload.arr[0]")]
    [InlineData("payload.arr[1].k")]
    [InlineData("payload.arr[2]")]
    [InlineData("payload.arr[-1]")]
    [InlineData("payload.none.x")]
    [InlineData("payload")]
    [InlineData("topic")]
    public void Reads_what_TryGet_reads(string path)
    {
        var p = PropertyPath.Parse(path);
        var read = p.TryRead(Message(), out var value);
        var got = p.TryGet(Message(), out var expected);
        Assert.Equal(got, read);
        Assert.Equal(expected?.ToJsonString() ?? "none", value?.ToJsonString() ?? "none");
        Assert.Equal(expected?.GetValueKind(), value?.GetValueKind());
    }

    [Fact]
    public void A_number_is_read_without_building_its_object()
    {
        var msg = Message();
        var component = (JsonObject)msg["payload"]!["switch:0"]!;
        Assert.True(PropertyPath.Parse("payload[\"switch:0\"].aenergy.total").TryRead(msg, out var total));
        Assert.Equal(1001.5, total!.GetValue<double>());
        Assert.Null(DictionaryOf(component));
        Assert.Equal(JsonNode.Parse(Report)!["switch:0"]!.ToJsonString(), component.ToJsonString());
    }

    [Fact]
    public void An_object_or_array_is_the_trees_own_node()
    {
        var msg = Message();
        Assert.True(PropertyPath.Parse("payload[\"switch:0\"].aenergy").TryRead(msg, out var aenergy));
        Assert.Same(msg["payload"]!["switch:0"]!["aenergy"], aenergy);
    }

    [Fact]
    public void Repeated_names_throw_as_building_the_object_does()
    {
        // A document that allowed them: JsonObject throws on its first read, and so does the read here.
        var msg = new JsonObject { ["payload"] = JsonNode.Parse("""{"a":1,"b":2,"a":3}""") };
        var p = PropertyPath.Parse("payload.b");
        var expected = Assert.ThrowsAny<ArgumentException>(() => p.TryGet(new JsonObject { ["payload"] = JsonNode.Parse("""{"a":1,"b":2,"a":3}""") }, out _));
        var thrown = Assert.ThrowsAny<ArgumentException>(() => p.TryRead(msg, out _));
        Assert.Equal(expected.GetType(), thrown.GetType());
    }

    [Fact]
    public void Escaped_names_and_case_insensitive_objects_read_as_TryGet_does()
    {
        var escaped = new JsonObject { ["payload"] = JsonNode.Parse("""{"\u0061":1,"b\"c":2}""") };
        Assert.True(PropertyPath.Parse("payload.a").TryRead(escaped, out var a));
        Assert.Equal(1, a!.GetValue<int>());
        Assert.True(PropertyPath.Parse("payload[\"b\\\"c\"]").TryRead(escaped, out var bc));
        Assert.Equal(2, bc!.GetValue<int>());

        var options = new JsonNodeOptions { PropertyNameCaseInsensitive = true };
        using var doc = JsonDocument.Parse("""{"Power":5}""");
        var loose = new JsonObject { ["payload"] = JsonObject.Create(doc.RootElement.Clone(), options) };
        Assert.True(PropertyPath.Parse("payload.power").TryRead(loose, out var power));
        Assert.Equal(5, power!.GetValue<int>());
    }

    [Fact]
    public void A_name_with_a_lone_surrogate_matches_nothing()
    {
        // U+FFFD unescaped: what a lone surrogate would turn into if it were encoded leniently.
        var msg = new JsonObject { ["payload"] = JsonNode.Parse("{\"\uFFFD\":1}") };
        Assert.False(PropertyPath.Parse("payload[\"\ud800\"]").TryRead(msg, out _));
    }

    private static JsonObject Message()
    {
        // As shelly in builds it: its own object of components, each over the report's element.
        using var doc = JsonDocument.Parse(Report);
        var report = doc.RootElement.Clone();
        var payload = new JsonObject();
        foreach (var component in report.EnumerateObject())
        {
            payload[component.Name] = component.Value.ValueKind switch
            {
                JsonValueKind.Object => JsonObject.Create(component.Value),
                JsonValueKind.Array => JsonArray.Create(component.Value),
                _ => JsonValue.Create(component.Value),
            };
        }
        return new JsonObject { ["topic"] = "dev", ["payload"] = payload };
    }
}
