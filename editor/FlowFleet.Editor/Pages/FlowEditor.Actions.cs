using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Editor.Components;
using FlowFleet.Editor.Model;
using FlowFleet.Runtime.Nodes;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;

namespace FlowFleet.Editor.Pages;

/// <summary>What the user does on the canvas and its tabs: select, rename, reveal, edit a node, trigger and toggle buttons, keyboard shortcuts.</summary>
public sealed partial class FlowEditor
{
    private void UngroupSelected()
    {
        if (SelectedNode()?["g"] is JsonValue g && g.TryGetValue<string>(out var id))
        {
            _ws.Ungroup(id);
        }
    }

    private JsonObject? SelectedNode() => _ws.Selected.Count == 1 ? _ws.Find(_ws.Selected.First()) : null;

    private void SelectTab(string id)
    {
        if (_ws.ActiveTab != id)
        {
            _ws.ActiveTab = id;
            _ws.Selected.Clear();
            _ws.SelectedWire = null;
        }
    }

    private void Rename(string id, string? label)
    {
        _renaming = null;
        if (!string.IsNullOrWhiteSpace(label))
        {
            _ws.RenameTab(id, label.Trim());
        }
    }

    /// <summary>Shows a node: its flow, selected, highlighted and in the middle of the canvas (debug sources, search hits).</summary>
    private async Task RevealAsync(string nodeId)
    {
        if (_ws.Find(nodeId) is { } n && FlowWorkspace.Z(n) is { } z)
        {
            _ws.ActiveTab = z;
            _ws.Selected.Clear();
            _ws.Selected.Add(nodeId);
            _highlighted = nodeId;
            _ws.NotifyChanged();
            await Task.Yield();
            if (_canvas is not null)
            {
                await _canvas.RevealAsync(nodeId);
            }
        }
    }

    private async Task EditAsync(string id)
    {
        if (_ws.Find(id) is not { } node)
        {
            return;
        }
        var type = FlowWorkspace.TypeOf(node);
        if (!_descriptors.TryGetValue(type, out var descriptor))
        {
            Snackbar.Add($"'{type}' is not an installed node type: it is kept as is and not run.", Severity.Warning);
            return;
        }
        var copy = (JsonObject)node.DeepClone();
        var parameters = new DialogParameters<NodeEditDialog>
        {
            { d => d.Node, copy },
            { d => d.Descriptor, descriptor },
            { d => d.ConfigNodes, _ws.ConfigNodes.ToList() },
            { d => d.CreateConfig, CreateConfig },
            { d => d.OnEditConfig, EventCallback.Factory.Create<string>(this, EditAsync) },
            { d => d.OnDelete, FlowWorkspace.IsFlowNode(node) ? () => { _ws.Selected.Clear(); _ws.Selected.Add(id); _ws.DeleteSelection(); } : null },
        };
        var dialog = await Dialogs.ShowAsync<NodeEditDialog>(null, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: JsonObject edited })
        {
            _ws.UpdateNode(id, edited, DescriptorHints.Outputs(descriptor, edited));
        }
    }

    private string? CreateConfig(string configType)
    {
        if (!_descriptors.TryGetValue(configType, out var d))
        {
            return null;
        }
        var node = _ws.AddNode(configType, d, 0, 0);
        return FlowWorkspace.IdOf(node);
    }

    /// <summary>A trigger button (inject's, or a plugin type's): the running node fires once.</summary>
    private void Trigger(string id)
    {
        if (!_canInject)
        {
            Snackbar.Add("Your role cannot inject messages.", Severity.Warning);
            return;
        }
        if (_ws.Find(id) is not { } node)
        {
            return;
        }
        if (_ws.IsChanged(node))
        {
            Snackbar.Add("This node has undeployed changes: deploy first.", Severity.Info);
            return;
        }
        if (!Engine.Inject(id))
        {
            Snackbar.Add("Trigger failed: the node is not running.", Severity.Error);
        }
    }

    /// <summary>A toggle button (debug's, or a plugin type's): flips the property the descriptor names, and the running node's state.</summary>
    private void Toggle(string id)
    {
        if (!_canInject || _ws.Find(id) is not { } node
            || DescriptorHints.Button(_descriptors.GetValueOrDefault(FlowWorkspace.TypeOf(node))) is not { Kind: NodeButtonKind.Toggle, Property: { } property })
        {
            return;
        }
        var active = node[property] is not JsonValue v || !v.TryGetValue<bool>(out var on) || on;
        node[property] = !active;
        if (Engine.GetNode(id) is IToggleable running)
        {
            running.Active = !active;
        }
        _ws.NotifyChanged();
    }

    private async Task ShortcutAsync(string key)
    {
        switch (key)
        {
            case "ctrl+d":
                await DeployAsync(_mode);
                break;
            case "import":
                await ImportAsync();
                break;
            case "export":
                await ExportAsync();
                break;
            case "add-flow":
                _ws.AddTab();
                break;
            case "ctrl+f":
                OpenSearch();
                break;
            case "escape":
                _searchOpen = false;
                break;
        }
    }
}
