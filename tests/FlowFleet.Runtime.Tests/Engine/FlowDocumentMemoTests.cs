using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;

namespace FlowFleet.Runtime.Tests.Engine;

/// <summary>
/// The memo takes objects sent byte for byte as last time from the last document: whatever it reuses, each document must be
/// exactly the one its array makes on its own (same bytes, same rev, same ids, types and wires).
/// </summary>
public sealed class FlowDocumentMemoTests
{
    private static (byte[] Sent, List<(int Start, int Length)> Items) Body(string json)
    {
        var sent = Encoding.UTF8.GetBytes(json);
        var items = new List<(int Start, int Length)>();
        var reader = new Utf8JsonReader(sent);
        var start = -1;
        while (reader.Read())
        {
            if (reader.CurrentDepth == 1)
            {
                FlowDocumentMemo.NoteItem(ref reader, items, ref start);
            }
        }
        return (sent, items);
    }

    private static void SameAsAlone(FlowDocument doc, string json)
    {
        var alone = FlowDocument.Parse(json);
        Assert.Equal(alone.Rev, doc.Rev);
        Assert.True(alone.Utf8Json.Span.SequenceEqual(doc.Utf8Json.Span));
        Assert.Equal(alone.ById.Keys.Order(), doc.ById.Keys.Order());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), doc.Raw));
        foreach (var (id, node) in doc.ById)
        {
            Assert.Equal(alone.TypeOf(alone.ById[id]), doc.TypeOf(node));
            Assert.Equal(alone.ZOf(alone.ById[id]), doc.ZOf(node));
            Assert.Equal(alone.IsDisabled(alone.ById[id]), doc.IsDisabled(node));
            Assert.True(alone.JsonOf(id).Span.SequenceEqual(doc.JsonOf(id).Span));
        }
    }

    [Fact]
    public void Each_document_is_the_one_its_array_makes_whatever_was_sent_before()
    {
        var memo = new FlowDocumentMemo();
        string[] bodies =
        [
            """[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}]""",
            // The same bytes again, then one object changed (the wires it names and the type it reads come from the new bytes).
            """[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}]""",
            """[{"id": "t", "type": "tab"}, {"id": "a", "type": "change", "z": "t", "x": 1, "y": 2, "d": true, "wires": [[]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}]""",
            // Objects moved: the same bytes at another place are written and read again, not taken from the wrong item.
            """[{"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "t", "type": "tab"}, {"id": "a", "type": "change", "z": "t", "x": 1, "y": 2, "d": true, "wires": [[]]}]""",
            // One more object, and an item that is not an object is refused as before.
            """[{"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "t", "type": "tab"}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}, {"id": "a", "type": "change", "z": "t", "x": 1, "y": 2, "d": true, "wires": [[]]}]""",
        ];
        foreach (var json in bodies)
        {
            var (sent, items) = Body(json);
            SameAsAlone(memo.Adopt(sent, items), json);
        }
        var (badSent, badItems) = Body("""[{"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, 7]""");
        Assert.Throws<FlowValidationException>(() => memo.Adopt(badSent, badItems));
        // A refused document is not remembered: the last good one still serves the next deploy.
        var (againSent, againItems) = Body(bodies[^1]);
        SameAsAlone(memo.Adopt(againSent, againItems), bodies[^1]);
    }

    [Fact]
    public void An_object_changed_in_one_document_does_not_change_the_next_one_made_of_the_same_bytes()
    {
        // Objects sent as last time share the element they were parsed from; a change to one document's object (the admin
        // API puts v2 credentials back, a split copies) is that object's alone.
        var memo = new FlowDocumentMemo();
        const string json = """[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [], "props": [{"p": "payload"}]}]""";
        var (sent, items) = Body(json);
        var first = memo.Adopt(sent, items);
        var a = first.ById["a"];
        a["name"] = "changed";
        ((JsonArray)a["props"]!).Add(new JsonObject { ["p"] = "topic" });

        var second = memo.Adopt(sent, items);

        Assert.Equal("changed", (string?)first.ById["a"]["name"]);
        Assert.Null(second.ById["a"]["name"]);
        Assert.Single((JsonArray)second.ById["a"]["props"]!);
        SameAsAlone(second, json);
    }

    [Fact]
    public void An_array_body_with_an_item_that_is_not_an_object_is_refused_naming_it()
    {
        var (sent, items) = Body("""[{"id": "t", "type": "tab"}, "text"]""");
        var refused = Assert.Throws<FlowValidationException>(() => new FlowDocumentMemo().Adopt(sent, items));
        Assert.Contains("Item 1 is not an object", refused.Errors);
    }

    private const string Last = """[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""";

    [Theory]
    // The same body; a middle object longer, shorter; one added, one removed; other spacing between them.
    [InlineData(Last)]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "name": "longer \u00e9", "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]}, {"id": "n", "type": "debug", "z": "t", "x": 0, "y": 0, "info": {"deep": [1, {"x": "\"}"}]}}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("[{\"id\": \"t\", \"type\": \"tab\"},{\"id\": \"a\", \"type\": \"inject\", \"z\": \"t\", \"x\": 1, \"y\": 2, \"wires\": [[\"b\"]]} ,\r\n\t{\"id\": \"b\", \"type\": \"debug\", \"z\": \"t\", \"x\": 3, \"y\": 4, \"wires\": []}, {\"id\": \"c\", \"type\": \"debug\", \"z\": \"t\", \"x\": 5, \"y\": 6}]")]
    public void A_body_changed_between_its_first_and_last_item_has_the_items_a_whole_pass_finds(string json)
    {
        var memo = new FlowDocumentMemo();
        var (lastSent, lastItems) = Body(Last);
        memo.Adopt(lastSent, lastItems);
        var (sent, items) = Body(json);

        Assert.Equal(items, memo.ItemsAsLast(sent));
        SameAsAlone(memo.Adopt(sent, memo.ItemsAsLast(sent)!), json);
    }

    [Theory]
    // The first or the last object changed; in the changed part a string that does not decode, bad JSON, an item that
    // is not an object, a missing comma: the caller checks the whole body.
    [InlineData("""[{"id": "t", "type": "tab", "label": "x"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 7}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "name": "\ud800", "wires": [["b"]]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]}, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, 7, {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    [InlineData("""[{"id": "t", "type": "tab"}, {"id": "a", "type": "inject", "z": "t", "x": 1, "y": 2, "wires": [["b"]]} {"id": "b", "type": "debug", "z": "t", "x": 3, "y": 4, "wires": []}, {"id": "c", "type": "debug", "z": "t", "x": 5, "y": 6}]""")]
    public void A_body_changed_elsewhere_or_not_valid_where_it_changed_is_left_to_the_whole_check(string json)
    {
        var memo = new FlowDocumentMemo();
        Assert.Null(memo.ItemsAsLast(Encoding.UTF8.GetBytes(Last)));
        var (lastSent, lastItems) = Body(Last);
        memo.Adopt(lastSent, lastItems);

        Assert.Null(memo.ItemsAsLast(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Bytes_that_are_not_UTF_8_where_the_body_changed_are_left_to_the_whole_check()
    {
        var memo = new FlowDocumentMemo();
        var (lastSent, lastItems) = Body(Last);
        memo.Adopt(lastSent, lastItems);
        var sent = Encoding.UTF8.GetBytes(Last.Replace("\"inject\"", "\"inj\u00e9ct\"", StringComparison.Ordinal));
        var at = Array.IndexOf(sent, (byte)0xC3);
        sent[at] = 0xFF;

        Assert.Null(memo.ItemsAsLast(sent));
    }
}
