using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Options;

namespace FlowFleet.Nodes.Core.Storage;

/// <summary>Node-RED's watch: a message whenever a watched file or directory changes.</summary>
[NodeType("watch", Category = "storage", Inputs = 0, Color = "#deb887", Icon = "visibility", LabelProperty = "files",
    Help = """
    Watches the comma separated `files` (files or directories; `recursive` for subdirectories). Each change sends
    `payload` and `filename` (the full path), `file` (its name), `topic` (what is watched), `event` (`update` or `remove`),
    `type` (file, directory, ...) and `size` for files. Changes to one file within 200 ms are reported once.
    """)]
public sealed class WatchNode(IOptions<CoreNodesOptions>? options = null, TimeProvider? time = null) : FlowNode<WatchConfig>
{
    /// <summary>node-watch's default delay: bursts of changes to one path within it are one event.</summary>
    internal static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);

    private readonly FileNodeOptions _options = options?.Value.File ?? new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly ConcurrentDictionary<string, (string Event, ITimer Timer)> _pending = new(StringComparer.Ordinal);
    private string _topic = "";

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var files = (Config.Files ?? "").Split(',').Select(f => f.Trim()).ToList();
        _topic = files.Count == 1 ? files[0] : new JsonArray(files.Select(f => (JsonNode?)f).ToArray()).ToJsonString();
        foreach (var f in files)
        {
            var full = Path.GetFullPath(_options.Resolve(f));
            FileSystemWatcher watcher;
            if (Directory.Exists(full))
            {
                watcher = new FileSystemWatcher(full) { IncludeSubdirectories = JsonTools.IsTruthy(Config.Recursive) };
            }
            else if (File.Exists(full))
            {
                watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full));
            }
            else
            {
                // As node-watch: an error for this path, the others are still watched.
                Node.Error($"{full} does not exist.", new FlowMessage(new JsonObject { ["payload"] = "" }));
                continue;
            }
            watcher.NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime;
            watcher.Created += (_, e) => Queue(e.FullPath, "update");
            watcher.Changed += (_, e) => Queue(e.FullPath, "update");
            watcher.Deleted += (_, e) => Queue(e.FullPath, "remove");
            watcher.Renamed += (_, e) =>
            {
                Queue(e.OldFullPath, "remove");
                Queue(e.FullPath, "update");
            };
            watcher.Error += (_, e) => Node.Error(e.GetException().Message, new FlowMessage(new JsonObject { ["payload"] = "" }));
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
        return Task.CompletedTask;
    }

    private void Queue(string path, string evt)
    {
        _pending.AddOrUpdate(path,
            p => (evt, _time.CreateTimer(_ => Fire(p), null, Debounce, Timeout.InfiniteTimeSpan)),
            (p, old) =>
            {
                old.Timer.Change(Debounce, Timeout.InfiniteTimeSpan);
                return (evt, old.Timer);
            });
    }

    private void Fire(string path)
    {
        if (!_pending.TryRemove(path, out var entry))
        {
            return;
        }
        entry.Timer.Dispose();
        var msg = new JsonObject
        {
            ["_msgid"] = MessageId.New(),
            ["payload"] = path,
            ["topic"] = _topic,
            ["file"] = Path.GetFileName(path),
            ["filename"] = path,
            ["event"] = entry.Event,
        };
        var type = "none";
        if (File.Exists(path))
        {
            type = "file";
            msg["size"] = new FileInfo(path).Length;
        }
        else if (Directory.Exists(path))
        {
            type = "directory";
        }
        msg["type"] = type;
        Node.Send(new FlowMessage(msg));
    }

    public override ValueTask CloseAsync(bool removed)
    {
        foreach (var w in _watchers)
        {
            w.Dispose();
        }
        foreach (var (_, (_, timer)) in _pending)
        {
            timer.Dispose();
        }
        _pending.Clear();
        return ValueTask.CompletedTask;
    }
}

public sealed class WatchConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Required = true, Label = "File(s)")]
    public string? Files { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Checkbox, Label = "Watch sub-directories recursively")]
    public JsonNode? Recursive { get; set; }
}
