using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Options;

namespace FlowFleet.Nodes.Core.Storage;

/// <summary>Node-RED's file in (read file): reads a file whole, line by line or in chunks.</summary>
[NodeType("file in", Category = "storage", PaletteLabel = "read file", Color = "#deb887", Icon = "description", LabelProperty = "filename",
    Help = """
    Reads `filename` (a string or typed input such as `msg.filename`). `format`: **utf8** one string, **lines** one message
    per line (with `msg.parts`), **stream** one message per 64 KiB buffer chunk, empty: one buffer. `encoding` decodes the
    text. Lines and chunks carry only `topic` and `filename` unless `allProps`. On a read error the message goes on with
    `msg.error` when `sendError`.
    """)]
public sealed class FileInNode(IOptions<CoreNodesOptions>? options = null) : FlowNode<FileInConfig>
{
    /// <summary>Node's read stream high-water mark: the size of a stream chunk.</summary>
    internal const int ChunkSize = 64 * 1024;

    private readonly FileNodeOptions _options = options?.Value.File ?? new();

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var (filename, type) = (Config.Filename ?? "", Config.FilenameType);
        if (string.IsNullOrEmpty(type))
        {
            (filename, type) = filename.Length == 0 ? ("filename", "msg") : (filename, "str");
        }
        var value = Node.Evaluate(type, JsonValue.Create(filename), msg);
        var name = (value is null ? "" : JsonTools.ToJsString(value)).Replace("\t", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);
        if (name.Length == 0)
        {
            Node.Warn("No filename specified");
            return;
        }
        msg.Data["filename"] = name;
        var full = _options.Resolve(name);
        FileStream stream;
        try
        {
            stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var (code, text) = ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => ("ENOENT", $"ENOENT: no such file or directory, open '{full}'"),
                UnauthorizedAccessException when Directory.Exists(full) => ("EISDIR", "EISDIR: illegal operation on a directory, read"),
                UnauthorizedAccessException => ("EACCES", $"EACCES: permission denied, open '{full}'"),
                _ => ("EIO", ex.Message),
            };
            Node.Error(text, msg);
            if (SendError)
            {
                var m = msg.Clone();
                m.Data.Remove("payload");
                m.Data["error"] = new JsonObject { ["message"] = text, ["code"] = code, ["path"] = full };
                Node.Send(m);
            }
            return;
        }
        await using (stream)
        {
            switch (Config.Format)
            {
                case "lines":
                    await SendLinesAsync(msg, stream, cancellationToken);
                    break;
                case "stream":
                    await SendChunksAsync(msg, stream, cancellationToken);
                    break;
                default:
                    using (var all = new MemoryStream())
                    {
                        await stream.CopyToAsync(all, cancellationToken);
                        msg.Payload = Config.Format == "utf8" ? JsonValue.Create(FileEncodings.Decode(all.ToArray(), Config.Encoding)) : JsonTools.Buffer(all.ToArray());
                    }
                    Node.Send(msg);
                    break;
            }
        }
    }

    private bool SendError => Config.SendError is not JsonValue v || JsonTools.IsTruthy(v);

    private FlowMessage Part(FlowMessage msg, JsonNode? payload, JsonObject parts)
    {
        var m = Config.AllProps ? msg.Clone() : new FlowMessage(new JsonObject { ["topic"] = msg.Data["topic"]?.DeepClone(), ["filename"] = msg.Data["filename"]?.DeepClone() });
        if (!Config.AllProps && !msg.Data.ContainsKey("topic"))
        {
            m.Data.Remove("topic");
        }
        m.Payload = payload;
        if (msg.MsgId is { } id)
        {
            parts["id"] = id;
        }
        m.Data["parts"] = parts;
        return m;
    }

    private async Task SendLinesAsync(FlowMessage msg, FileStream stream, CancellationToken ct)
    {
        // Decoded whole so multi-byte characters split across reads stay intact (Node decodes per chunk).
        using var all = new MemoryStream();
        await stream.CopyToAsync(all, ct);
        var lines = FileEncodings.Decode(all.ToArray(), Config.Encoding).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var parts = i == lines.Length - 1
                ? new JsonObject { ["index"] = i, ["count"] = lines.Length, ["ch"] = "\n", ["type"] = "string" }
                : new JsonObject { ["index"] = i, ["ch"] = "\n", ["type"] = "string" };
            Node.Send(Part(msg, JsonValue.Create(lines[i]), parts));
        }
    }

    private async Task SendChunksAsync(FlowMessage msg, FileStream stream, CancellationToken ct)
    {
        var buffer = new byte[ChunkSize];
        var index = 0;
        while (true)
        {
            var n = await stream.ReadAtLeastAsync(buffer, ChunkSize, throwOnEndOfStream: false, ct);
            var parts = new JsonObject { ["index"] = index, ["ch"] = "", ["type"] = "buffer" };
            if (n == 0)
            {
                // The last chunk was exactly full: Node sends an empty closing part (without payload).
                if (index > 0)
                {
                    parts["count"] = index;
                    var end = Part(msg, null, parts);
                    end.Data.Remove("payload");
                    Node.Send(end);
                }
                return;
            }
            index++;
            if (n < ChunkSize)
            {
                parts["count"] = index;
            }
            Node.Send(Part(msg, JsonTools.Buffer(buffer.AsSpan(0, n)), parts));
            if (n < ChunkSize)
            {
                return;
            }
        }
    }
}

public sealed class FileInConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Typed, TypeProperty = "filenameType", Types = ["str", "msg", "flow", "global", "env"], Label = "Filename")]
    public string? Filename { get; set; }

    [NodeProperty(Default = "\"str\"", UiHint = PropertyUi.Hidden)]
    public string? FilenameType { get; set; }

    [NodeProperty(Default = "\"utf8\"", UiHint = PropertyUi.Select, Options = ["utf8:a single utf8 string", "lines:a msg per line", "stream:a stream of Buffers", ":a single Buffer object"], Label = "Output")]
    public string? Format { get; set; } = "utf8";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Hidden)]
    public bool Chunk { get; set; }

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Send message on error")]
    public JsonNode? SendError { get; set; }

    [NodeProperty(Default = "\"none\"", UiHint = PropertyUi.Select, Options = ["none:default", "utf8", "ucs2", "utf16le", "latin1", "binary", "ascii", "base64", "hex"], Label = "Encoding")]
    public string? Encoding { get; set; } = "none";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Include all existing properties in each msg")]
    public bool AllProps { get; set; }
}
