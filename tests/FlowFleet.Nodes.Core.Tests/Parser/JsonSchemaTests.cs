using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Parser;

namespace FlowFleet.Nodes.Core.Tests.Parser;

/// <summary>
/// The json node's msg.schema check against ajv 8.20.0 itself (Node-RED 4.1.15's copy, configured as 70-JSON.js does):
/// each case in <c>Cases/json-schema-ajv.json</c> holds a schema, a value and what ajv said — valid, its <c>errors</c> and
/// <c>errorsText</c>, or a compile failure — recorded by running ajv on them with Node.js.
/// </summary>
public sealed class JsonSchemaTests
{
    public static TheoryData<int> Cases() => new(Enumerable.Range(0, Load().Count));

    private static JsonArray Load() =>
        (JsonArray)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Cases", "json-schema-ajv.json")))!;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_ajv(int index)
    {
        var expected = Load()[index]!.AsObject();
        var check = JsonSchemaCheck.Compile(expected["schema"]!);
        if (expected["compileError"] is not null)
        {
            Assert.True(check is null, "ajv refuses to compile " + expected["schema"]!.ToJsonString());
            return;
        }
        Assert.NotNull(check);
        var errors = check.Validate(expected["data"]);
        if (expected["valid"] is not null)
        {
            Assert.Null(errors);
            return;
        }
        Assert.NotNull(errors);
        Assert.Equal(expected["errors"]!.ToJsonString(), errors.ToJsonString());
        Assert.Equal(expected["text"]!.GetValue<string>(), JsonSchemaCheck.ErrorsText(errors));
    }

    [Fact]
    public async Task The_node_passes_valid_messages_without_msg_schema_and_reports_invalid_ones_with_msg_schemaError()
    {
        await using var h = await Flows.One("""{"type":"json","property":"payload"}""", extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");
        var schema = JsonNode.Parse("""{"type":"object","required":["t"],"properties":{"t":{"type":"number","maximum":125}}}""")!;

        h.Send("n", new FlowFleet.Runtime.Messages.FlowMessage(new JsonObject { ["payload"] = """{"t":20}""", ["schema"] = schema.DeepClone() }));
        var ok = await h.NextAsync("o0");
        Assert.Equal(20, Flows.Num(ok.Payload!["t"]));
        Assert.False(ok.Data.ContainsKey("schema"));

        h.Send("n", new FlowFleet.Runtime.Messages.FlowMessage(new JsonObject { ["payload"] = new JsonObject { ["t"] = 200 }, ["schema"] = schema.DeepClone() }));
        var failed = await h.NextAsync("err");
        Assert.Equal("JSON Schema error: data/t must be <= 125", failed.Data["error"]!["message"]!.GetValue<string>());
        var expected = JsonNode.Parse("""[{"instancePath":"/t","schemaPath":"#/properties/t/maximum","keyword":"maximum","params":{"comparison":"<=","limit":125},"message":"must be <= 125"}]""");
        Assert.True(JsonNode.DeepEquals(expected, failed.Data["schemaError"]), failed.Data["schemaError"]!.ToJsonString());
        Assert.True(failed.Data.ContainsKey("schema"));
        Assert.IsType<JsonObject>(failed.Payload); // not stringified when invalid

        h.Send("n", new FlowFleet.Runtime.Messages.FlowMessage(new JsonObject { ["payload"] = "{}", ["schema"] = new JsonObject { ["type"] = "object", ["format"] = "email" } }));
        Assert.Equal("JSON Schema error: failed to compile schema", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public void Compiled_schemas_are_cached_by_their_text()
    {
        var a = JsonSchemaCheck.Compile(JsonNode.Parse("{\"type\":\"number\"}")!);
        var b = JsonSchemaCheck.Compile(JsonNode.Parse("{ \"type\" : \"number\" }")!);
        Assert.NotNull(a);
        Assert.Same(a, b);
    }
}
