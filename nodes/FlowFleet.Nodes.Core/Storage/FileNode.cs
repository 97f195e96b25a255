using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Options;

namespace FlowFleet.Nodes.Core.Storage;

/// <summary>Node-RED's file (write file): appends to, overwrites or deletes a file.</summary>
[NodeType("file", Category = "storage", PaletteLabel = "write file", Color = "#deb887", Icon = "save", Align = "right", LabelProperty = "filename",
    Help = """
    Writes `msg.payload` to `filename` (a string, or a typed input such as `msg.filename`): appending (`overwriteFile:
    "false"`, with a newline when `appendNewline`), overwriting (`"true"`) or deleting the file (`"delete"`). Objects are
    written as JSON, buffers as bytes. `createDir` makes missing directories. `encoding` (or `setbymsg`: `msg.encoding`)
    picks the text encoding. The message is sent on once written, with `msg.filename`.
    """)]
public sealed class FileNode(IOptions<CoreNodesOptions>? options = null) : FlowNode<FileConfig>
{
    private readonly FileNodeOptions _options = options?.Value.File ?? new();

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var (filename, type) = (Config.Filename ?? "", Config.FilenameType);
        if (string.IsNullOrEmpty(type))
        {
            (filename, type) = filename.Length == 0 ? ("filename", "msg") : (filename, "str");
        }
        var value = Node.Evaluate(type, JsonValue.Create(filename), msg);
        var name = value is null ? "" : JsonTools.ToJsString(value);
        msg.Data["filename"] = name;
        if (name.Length == 0)
        {
            Node.Warn("No filename specified");
            return;
        }
        var full = _options.Resolve(name);
        var mode = Config.OverwriteFile?.ToString() ?? "false";
        if (mode == "delete")
        {
            try
            {
                if (!File.Exists(full))
                {
                    throw new FileNotFoundException($"ENOENT: no such file or directory, unlink '{full}'");
                }
                File.Delete(full);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException("failed to delete file: " + ex.Message, ex);
            }
            Node.Send(msg);
            return;
        }
        if (!msg.Data.TryGetPropertyValue("payload", out var payload))
        {
            return;
        }
        if (Config.CreateDir)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(full))!);
        }
        byte[] bytes;
        if (JsonTools.IsBuffer(payload))
        {
            bytes = JsonTools.BufferBytes(payload!);
        }
        else
        {
            var text = payload is JsonObject or JsonArray or null ? (payload?.ToJsonString() ?? "null") : JsonTools.ToJsString(payload);
            var lastPart = msg.Data["parts"] is JsonObject p && p["type"]?.ToString() == "string" && JsonTools.ToNumber(p["count"]) == JsonTools.ToNumber(p["index"]) + 1;
            if (Config.AppendNewline && !lastPart)
            {
                text += Environment.NewLine;
            }
            bytes = FileEncodings.Encode(text, Config.Encoding == "setbymsg" ? msg.Data["encoding"]?.ToString() : Config.Encoding);
        }
        try
        {
            await using var stream = new FileStream(full, mode == "true" ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            await stream.WriteAsync(bytes, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException((mode == "true" ? "failed to write to file: " : "failed to append to file: ") + ex.Message, ex);
        }
        Node.Send(msg);
    }
}

public sealed class FileConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Typed, TypeProperty = "filenameType", Types = ["str", "msg", "flow", "global", "env"], Label = "Filename")]
    public string? Filename { get; set; }

    [NodeProperty(Default = "\"str\"", UiHint = PropertyUi.Hidden)]
    public string? FilenameType { get; set; }

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Add newline (\\n) to each payload?")]
    public bool AppendNewline { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Create directory if it doesn't exist?")]
    public bool CreateDir { get; set; }

    [NodeProperty(Default = "\"false\"", UiHint = PropertyUi.Select, Options = ["false:append to file", "true:overwrite file", "delete:delete file"], Label = "Action")]
    public JsonNode? OverwriteFile { get; set; }

    [NodeProperty(Default = "\"none\"", UiHint = PropertyUi.Select, Options = ["none:default", "setbymsg:setbymsg (msg.encoding)", "utf8", "ucs2", "utf16le", "latin1", "binary", "ascii", "base64", "hex"], Label = "Encoding")]
    public string? Encoding { get; set; } = "none";
}
