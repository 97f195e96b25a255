using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Common;

/// <summary>A note on the canvas; does nothing at run time.</summary>
[NodeType("comment", Category = "common", Inputs = 0, Outputs = 0, Color = "#ffffff", Icon = "comment",
    Help = "A comment for the flow: the name is shown on the canvas, `info` holds longer Markdown text.")]
public sealed class CommentNode : FlowNode<CommentConfig>;

public sealed class CommentConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Multiline, Label = "Text")]
    public string? Info { get; set; }
}
