using System.Text;
using FlowFleet.Runtime.Flows;

namespace FlowFleet.Runtime.Tests.Engine;

public sealed class NestingTests
{
    [Fact]
    public void A_subflow_that_contains_itself_is_refused_naming_the_cycle()
    {
        var ex = Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("""
        [{"id":"t","type":"tab"},
         {"id":"A","type":"subflow","name":"Loop","in":[],"out":[]},
         {"id":"a1","type":"subflow:A","z":"A","x":1,"y":1,"wires":[]},
         {"id":"i","type":"subflow:A","z":"t","x":1,"y":1,"wires":[]}]
        """));
        Assert.Contains("Subflow cycle: A (Loop) → A (Loop)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Subflows_containing_each_other_are_refused_naming_the_cycle()
    {
        var ex = Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("""
        [{"id":"t","type":"tab"},
         {"id":"A","type":"subflow","name":"Outer","in":[],"out":[]},
         {"id":"B","type":"subflow","name":"Inner","in":[],"out":[]},
         {"id":"a1","type":"subflow:B","z":"A","x":1,"y":1,"wires":[]},
         {"id":"b1","type":"subflow:A","z":"B","x":1,"y":1,"wires":[]},
         {"id":"i","type":"subflow:A","z":"t","x":1,"y":1,"wires":[]}]
        """));
        Assert.Contains("Subflow cycle: A (Outer) → B (Inner) → A (Outer)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_and_exploding_subflows_are_refused_but_shared_ones_are_fine()
    {
        // 40 subflows each holding the next: deeper than the limit.
        var deep = new StringBuilder("""[{"id":"t","type":"tab"},{"id":"top","type":"subflow:s0","z":"t","x":1,"y":1,"wires":[]}""");
        for (var i = 0; i < 40; i++)
        {
            deep.Append($$""",{"id":"s{{i}}","type":"subflow","in":[],"out":[]}""");
            if (i < 39)
            {
                deep.Append($$""",{"id":"n{{i}}","type":"subflow:s{{i + 1}}","z":"s{{i}}","x":1,"y":1,"wires":[]}""");
            }
        }
        Assert.Contains("nests subflows", Assert.Throws<FlowValidationException>(() => FlowDocument.Parse(deep + "]")).Message, StringComparison.Ordinal);

        // 10 levels, each holding 10 instances of the next: 10^10 nodes from a few kilobytes.
        var wide = new StringBuilder("""[{"id":"t","type":"tab"},{"id":"top","type":"subflow:s0","z":"t","x":1,"y":1,"wires":[]}""");
        for (var i = 0; i < 10; i++)
        {
            wide.Append($$""",{"id":"s{{i}}","type":"subflow","in":[],"out":[]},{"id":"c{{i}}","type":"comment","z":"s{{i}}","x":1,"y":1,"wires":[]}""");
            for (var k = 0; i < 9 && k < 10; k++)
            {
                wide.Append($$""",{"id":"n{{i}}_{{k}}","type":"subflow:s{{i + 1}}","z":"s{{i}}","x":1,"y":1,"wires":[]}""");
            }
        }
        Assert.Contains("expand to", Assert.Throws<FlowValidationException>(() => FlowDocument.Parse(wide + "]")).Message, StringComparison.Ordinal);

        // A diamond (two subflows sharing a third) is no cycle.
        var doc = FlowDocument.Parse("""
        [{"id":"t","type":"tab"},
         {"id":"A","type":"subflow","in":[],"out":[]},{"id":"B","type":"subflow","in":[],"out":[]},{"id":"C","type":"subflow","in":[],"out":[]},
         {"id":"a1","type":"subflow:B","z":"A","x":1,"y":1,"wires":[]},{"id":"a2","type":"subflow:C","z":"A","x":1,"y":1,"wires":[]},
         {"id":"b1","type":"subflow:C","z":"B","x":1,"y":1,"wires":[]},
         {"id":"i","type":"subflow:A","z":"t","x":1,"y":1,"wires":[]}]
        """);
        Assert.Equal(3, doc.Subflows.Count);
    }

    [Fact]
    public void Groups_inside_each_other_in_a_circle_are_refused()
    {
        var ex = Assert.Throws<FlowValidationException>(() => FlowDocument.Parse("""
        [{"id":"t","type":"tab"},
         {"id":"g1","type":"group","z":"t","g":"g2","nodes":[]},
         {"id":"g2","type":"group","z":"t","g":"g1","nodes":[]}]
        """));
        Assert.Contains("Group cycle", ex.Message, StringComparison.Ordinal);
    }
}
