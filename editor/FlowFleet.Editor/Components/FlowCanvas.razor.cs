using System.Text.Json.Nodes;
using FlowFleet.Editor.Model;
using FlowFleet.Runtime.Nodes;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace FlowFleet.Editor.Components;

/// <summary>The flow canvas: Blazor renders the SVG from the workspace; canvas.js reports gestures (moves, wires, drops,
/// selections, double clicks, context menus, keys) which land here and change the workspace.</summary>
public sealed partial class FlowCanvas
{
    private ElementReference _svg;
    private DotNetObjectReference<FlowCanvas>? _self;
    private IJSObjectReference? _module;
    private MenuTarget? _menu;

    [Parameter, EditorRequired]
    public FlowWorkspace Workspace { get; set; } = default!;

    [Parameter]
    public IReadOnlyDictionary<string, JsonObject> Descriptors { get; set; } = new Dictionary<string, JsonObject>();

    [Parameter]
    public IReadOnlyDictionary<string, FlowFleet.Runtime.Nodes.NodeStatus> Statuses { get; set; } = new Dictionary<string, FlowFleet.Runtime.Nodes.NodeStatus>();

    [Parameter]
    public EventCallback<string> OnEditNode { get; set; }

    /// <summary>A trigger button was pressed (the descriptor's <see cref="NodeButtonKind.Trigger"/>).</summary>
    [Parameter]
    public EventCallback<string> OnTrigger { get; set; }

    /// <summary>A toggle button was pressed (the descriptor's <see cref="NodeButtonKind.Toggle"/>).</summary>
    [Parameter]
    public EventCallback<string> OnToggle { get; set; }

    /// <summary>Commands the page handles: keyboard shortcuts (ctrl+d deploy, ctrl+f search) and menu entries (import, export).</summary>
    [Parameter]
    public EventCallback<string> OnShortcut { get; set; }

    /// <summary>A node drawn with a halo (a search hit or a revealed debug source).</summary>
    [Parameter]
    public string? Highlighted { get; set; }

    /// <summary>The editor's own clipboard (used when the browser's is not available).</summary>
    public string? Clipboard { get; set; }

    private static string F(JsonNode? n) => NodeGeometry.F(FlowWorkspace.Num(n));

    private static string StatusColor(string fill) => fill switch
    {
        "red" => "#c00", "green" => "#5a8", "yellow" => "#F9DF31", "blue" => "#53A3F3", "grey" => "#999", _ => fill,
    };

    private (double W, double H, int Outputs) Measure(JsonObject n)
    {
        var d = Descriptors.GetValueOrDefault(FlowWorkspace.TypeOf(n));
        var outs = NodeGeometry.Outputs(n, d);
        return (NodeGeometry.Width(NodeGeometry.Label(n, d), NodeGeometry.Inputs(n, d)), NodeGeometry.Height(outs), outs);
    }

    private string? WirePath(Wire w)
    {
        if (Workspace.Find(w.From) is not { } a || Workspace.Find(w.To) is not { } b || FlowWorkspace.Z(b) != Workspace.ActiveTab)
        {
            return null;
        }
        var ma = Measure(a);
        var mb = Measure(b);
        return NodeGeometry.WirePath(FlowWorkspace.Num(a["x"]) + ma.W / 2, FlowWorkspace.Num(a["y"]) + NodeGeometry.PortY(w.Port, ma.Outputs),
            FlowWorkspace.Num(b["x"]) - mb.W / 2, FlowWorkspace.Num(b["y"]));
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender)
        {
            _self = DotNetObjectReference.Create(this);
            _module = await JS.InvokeAsync<IJSObjectReference>("import", "./_content/FlowFleet.Editor/canvas.js");
            await _module.InvokeVoidAsync("attach", _svg, _self);
        }
    }

    public async Task ZoomAsync(double factor)
    {
        if (_module is not null)
        {
            await _module.InvokeVoidAsync(factor == 0 ? "resetView" : "zoom", factor == 0 ? [_svg] : [_svg, factor]);
        }
    }

    /// <summary>Pans the view so a node is in the middle.</summary>
    public async Task RevealAsync(string id)
    {
        if (_module is not null && Workspace.Find(id) is { } n)
        {
            await _module.InvokeVoidAsync("reveal", _svg, FlowWorkspace.Num(n["x"]), FlowWorkspace.Num(n["y"]));
        }
    }

    public async Task CopyToClipboardAsync(string text)
    {
        if (_module is not null)
        {
            await _module.InvokeAsync<bool>("copyText", text);
        }
    }

    public async Task DownloadAsync(string name, string text)
    {
        if (_module is not null)
        {
            await _module.InvokeVoidAsync("download", name, text);
        }
    }

    public sealed record Move(string Id, double X, double Y);

    public sealed record WireRef(string From, int Port, string To)
    {
        public Wire ToWire() => new(From, Port, To);
    }

    [JSInvokable]
    public Task OnDrop(string type, double x, double y, WireRef? splice)
    {
        if (Descriptors.TryGetValue(type, out var d))
        {
            var node = Workspace.AddNode(type, d, x, y);
            if (splice is not null)
            {
                Workspace.SpliceWire(FlowWorkspace.IdOf(node), splice.ToWire(), record: false);
            }
        }
        return Task.CompletedTask;
    }

    [JSInvokable]
    public Task OnMoved(Move[] moves, WireRef? splice)
    {
        Workspace.MoveNodes(moves.Select(m => (m.Id, m.X, m.Y)), splice?.ToWire());
        return Task.CompletedTask;
    }

    [JSInvokable]
    public Task OnWire(string from, int port, string to)
    {
        Workspace.Connect(from, port, to);
        return Task.CompletedTask;
    }

    [JSInvokable]
    public Task OnSelect(string[] ids, bool additive)
    {
        if (!additive)
        {
            Workspace.Selected.Clear();
        }
        foreach (var id in ids)
        {
            if (additive && ids.Length == 1 && Workspace.Selected.Contains(id))
            {
                Workspace.Selected.Remove(id);
            }
            else
            {
                Workspace.Selected.Add(id);
            }
        }
        Workspace.SelectedWire = null;
        _menu = null;
        Workspace.NotifyChanged();
        return Task.CompletedTask;
    }

    [JSInvokable]
    public Task OnSelectWire(string from, int port, string to)
    {
        Workspace.Selected.Clear();
        Workspace.SelectedWire = new Wire(from, port, to);
        _menu = null;
        Workspace.NotifyChanged();
        return Task.CompletedTask;
    }

    [JSInvokable]
    public Task OnEdit(string id) => OnEditNode.InvokeAsync(id);

    /// <summary>Right click: a node joins (or becomes) the selection as in Node-RED, a wire is selected, then the menu opens.</summary>
    [JSInvokable]
    public Task OnContextMenu(MenuTarget target)
    {
        if (target.Kind == "node" && target.Id is { } id && !Workspace.Selected.Contains(id))
        {
            Workspace.Selected.Clear();
            Workspace.Selected.Add(id);
            Workspace.SelectedWire = null;
        }
        else if (target.Kind == "wire" && target.From is { } from && target.To is { } to)
        {
            Workspace.Selected.Clear();
            Workspace.SelectedWire = new Wire(from, target.Port, to);
        }
        _menu = target;
        Workspace.NotifyChanged();
        return Task.CompletedTask;
    }

    private void CloseMenu()
    {
        _menu = null;
        StateHasChanged();
    }

    private async Task MenuCommandAsync(string command)
    {
        var at = _menu;
        _menu = null;
        switch (command)
        {
            case "edit" when Workspace.Selected.Count == 1:
                // The dialog outlives the menu: don't hold the menu's click handler open until the dialog closes.
                var id = Workspace.Selected.First();
                StateHasChanged();
                _ = InvokeAsync(() => OnEditNode.InvokeAsync(id));
                return;
            case "copy":
            case "cut":
                Clipboard = command == "cut" ? Workspace.Cut() : Workspace.Copy();
                await CopyToClipboardAsync(Clipboard);
                break;
            case "paste":
                var text = _module is null ? null : await _module.InvokeAsync<string?>("readText");
                await OnPaste(text, at?.X ?? 100, at?.Y ?? 100);
                break;
            default:
                await OnKey(command);
                break;
        }
        StateHasChanged();
    }

    /// <summary>Shortcuts and menu commands; returns text for the system clipboard on copy/cut.</summary>
    [JSInvokable]
    public async Task<string?> OnKey(string key)
    {
        switch (key)
        {
            case "delete":
                Workspace.DeleteSelection();
                return null;
            case "enter":
                if (Workspace.Selected.Count == 1)
                {
                    await OnEditNode.InvokeAsync(Workspace.Selected.First());
                }
                return null;
            case "escape":
                _menu = null;
                Workspace.Selected.Clear();
                Workspace.SelectedWire = null;
                Workspace.NotifyChanged();
                // The page closes what it has open (search) even when the focus is not in it.
                await OnShortcut.InvokeAsync(key);
                return null;
            case "ctrl+a":
                Workspace.SelectAll();
                return null;
            case "ctrl+c":
                return Clipboard = Workspace.Selected.Count > 0 ? Workspace.Copy() : null;
            case "ctrl+x":
                return Clipboard = Workspace.Selected.Count > 0 ? Workspace.Cut() : null;
            case "ctrl+z":
                Workspace.Undo();
                return null;
            case "ctrl+y":
                Workspace.Redo();
                return null;
            case "disable":
            case "enable":
                Workspace.SetDisabled(Workspace.Selected, key == "disable");
                return null;
            case "group":
                Workspace.GroupSelection();
                return null;
            case "ungroup":
                foreach (var g in Workspace.Selected.Select(Workspace.Find).Select(n => n?["g"]?.GetValue<string>()).OfType<string>().Distinct().ToList())
                {
                    Workspace.Ungroup(g);
                }
                return null;
            default:
                await OnShortcut.InvokeAsync(key);
                return null;
        }
    }

    /// <summary>Pastes Node-RED JSON from the system clipboard (or the editor's own) with the nodes centred on the mouse.</summary>
    [JSInvokable]
    public Task OnPaste(string? text, double x, double y)
    {
        try
        {
            if (!string.IsNullOrWhiteSpace(text) && text.TrimStart().StartsWith('['))
            {
                Workspace.Paste(text, x, y);
                return Task.CompletedTask;
            }
        }
        catch (FormatException)
        {
            // Not flow JSON: fall back to what this editor copied.
        }
        if (Clipboard is not null)
        {
            Workspace.Paste(Clipboard, x, y);
        }
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_module is not null)
            {
                await _module.InvokeVoidAsync("detach", _svg);
                await _module.DisposeAsync();
            }
        }
        catch (JSDisconnectedException)
        {
        }
        _self?.Dispose();
    }
}

/// <summary>What was right-clicked: a node, a wire or the canvas, where (px in the canvas element) and the canvas point.</summary>
public sealed record MenuTarget(string Kind, string? Id, string? From, int Port, string? To, double Left, double Top, double X, double Y);
