namespace FlowFleet.Nodes.Core.Tests.Parser;

/// <summary>
/// The json node's syntax errors word V8's: each expected message here is what Node.js 20's <c>JSON.parse</c> said for the
/// input (generated with <c>node -e</c>), including input that ends early, where V8 names what it expected.
/// </summary>
public sealed class V8JsonSyntaxTests
{
    [Theory]
    [InlineData("{\"a\":1,}", "Expected double-quoted property name in JSON at position 7")]
    [InlineData("[1,]", "Unexpected token ']', \"[1,]\" is not valid JSON")]
    [InlineData("\"\\x\"", "Bad escaped character in JSON at position 2")]
    [InlineData("\"\\u12x\"", "Bad Unicode escape in JSON at position 5")]
    [InlineData("\"\\u12", "Bad Unicode escape in JSON at position 5")]
    [InlineData("\"\\u", "Bad Unicode escape in JSON at position 3")]
    [InlineData("\"\\", "Unexpected end of JSON input")]
    [InlineData("\"a\u0001\"", "Bad control character in string literal in JSON at position 2")]
    [InlineData("-", "No number after minus sign in JSON at position 1")]
    [InlineData("-a", "No number after minus sign in JSON at position 1")]
    [InlineData("1.", "Unterminated fractional number in JSON at position 2")]
    [InlineData("-1.", "Unterminated fractional number in JSON at position 3")]
    [InlineData("1.x", "Unterminated fractional number in JSON at position 2")]
    [InlineData("1e", "Exponent part is missing a number in JSON at position 2")]
    [InlineData("1.5e", "Exponent part is missing a number in JSON at position 4")]
    [InlineData("1e+x", "Exponent part is missing a number in JSON at position 3")]
    [InlineData("{\"a\" 1}", "Expected ':' after property name in JSON at position 5")]
    [InlineData("{\"a\":1 \"b\":2}", "Expected ',' or '}' after property value in JSON at position 7")]
    [InlineData("{1:2}", "Expected property name or '}' in JSON at position 1")]
    [InlineData("[1 2]", "Expected ',' or ']' after array element in JSON at position 3")]
    [InlineData("tru", "Unexpected end of JSON input")]
    [InlineData("\"abc", "Unterminated string in JSON at position 4")]
    [InlineData("{", "Expected property name or '}' in JSON at position 1")]
    [InlineData("  {  ", "Expected property name or '}' in JSON at position 5")]
    [InlineData("{\"a\":1", "Expected ',' or '}' after property value in JSON at position 6")]
    [InlineData("{\"a\":1,", "Expected double-quoted property name in JSON at position 7")]
    [InlineData("[1", "Expected ',' or ']' after array element in JSON at position 2")]
    [InlineData("[1,", "Unexpected end of JSON input")]
    [InlineData("{\"a\"", "Expected ':' after property name in JSON at position 4")]
    [InlineData("{\"a\":", "Unexpected end of JSON input")]
    [InlineData("[1,2] x", "Unexpected non-whitespace character after JSON at position 6")]
    [InlineData("{\"key\":\"value\",\"other\":[1,2,3],\"bad\":}", "Unexpected token '}', ...\",3],\"bad\":}\" is not valid JSON")]
    [InlineData("x", "Unexpected token 'x', \"x\" is not valid JSON")]
    [InlineData("", "Unexpected end of JSON input")]
    [InlineData("-0.5e-3", null)]
    public void Messages_match_JSON_parse_in_Node_20(string text, string? expected) => Assert.Equal(expected, FlowFleet.Nodes.Core.Parser.V8JsonSyntax.Check(text));

    [Fact]
    public async Task The_json_node_reports_a_truncated_document_as_node_red_does()
    {
        await using var h = await Flows.One("""{"type":"json","property":"payload"}""", extra: """,{"id":"c","type":"catch","z":"t","x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");
        h.Send("n", System.Text.Json.Nodes.JsonValue.Create("{\"a\":1"));
        Assert.Equal("Expected ',' or '}' after property value in JSON at position 6", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>());
    }
}
