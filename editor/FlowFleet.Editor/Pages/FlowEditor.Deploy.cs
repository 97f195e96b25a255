using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Editor.Components;
using FlowFleet.Editor.Model;
using FlowFleet.Runtime.Nodes;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;

namespace FlowFleet.Editor.Pages;

/// <summary>Deploy (full, flows, nodes; merging someone else's deploy), import and export.</summary>
public sealed partial class FlowEditor
{
    private async Task DeployAsync(string mode, bool force = false)
    {
        if (!_canWrite)
        {
            Snackbar.Add("Your role can look at flows but not deploy them.", Severity.Warning);
            return;
        }
        _deploying = true;
        try
        {
            var type = mode switch { "flows" => FlowFleet.Runtime.DeployType.Flows, "nodes" => FlowFleet.Runtime.DeployType.Nodes, _ => FlowFleet.Runtime.DeployType.Full };
            var result = await Flows.DeployAsync(_ws.ToFlows(), type, force ? null : _ws.Rev, await TakeDeployInfoAsync());
            _ws.MarkDeployed(result.Rev);
            // One toast per deploy (Node-RED's "Successfully deployed"); the details go to the notification list.
            var warnings = result.Warnings.Count;
            Snackbar.Add(warnings == 0 ? "Deployed" : $"Deployed — {warnings} {(warnings == 1 ? "node has a warning" : "nodes have warnings")}",
                warnings == 0 ? Severity.Success : Severity.Warning);
            _notifications.Insert(0, (DateTimeOffset.Now, $"Deployed ({mode}): {result.Started} started, {result.Stopped} stopped", Severity.Success));
            foreach (var w in result.Warnings)
            {
                _notifications.Insert(0, (DateTimeOffset.Now, w, Severity.Warning));
            }
            if (_notifications.Count > 100)
            {
                _notifications.RemoveRange(100, _notifications.Count - 100);
            }
        }
        catch (FlowFleet.Runtime.Storage.FlowRevisionConflictException)
        {
            _deploying = false;
            var choice = await Dialogs.ShowMessageBoxAsync("Flows changed on the server",
                "Someone else deployed since you loaded these flows. Merge keeps their changes and applies yours on top (node by node); Overwrite replaces theirs with yours.",
                yesText: "Merge", noText: "Overwrite", cancelText: "Cancel");
            if (choice == true)
            {
                Merge();
                await DeployAsync(mode);
            }
            else if (choice == false)
            {
                await DeployAsync(mode, force: true);
            }
        }
        catch (FlowFleet.Runtime.Flows.FlowValidationException ex)
        {
            Snackbar.Add("Not deployed: " + string.Join("; ", ex.Errors), Severity.Error);
        }
        finally
        {
            _deploying = false;
        }
    }

    /// <summary>Takes the server's flows and re-applies the objects this editor changed, added or deleted.</summary>
    private void Merge()
    {
        var mine = _ws.Items.ToDictionary(FlowWorkspace.IdOf, StringComparer.Ordinal);
        var changedIds = mine.Values.Where(_ws.IsChanged).Select(FlowWorkspace.IdOf).ToHashSet(StringComparer.Ordinal);
        var theirs = Flows.GetFlows().OfType<JsonObject>().ToList();
        var merged = new JsonArray();
        foreach (var o in theirs)
        {
            var id = FlowWorkspace.IdOf(o);
            merged.Add(changedIds.Contains(id) && mine.TryGetValue(id, out var m) ? m.DeepClone() : o.DeepClone());
        }
        foreach (var id in changedIds.Where(id => !theirs.Any(t => FlowWorkspace.IdOf(t) == id)))
        {
            merged.Add(mine[id].DeepClone());
        }
        var active = _ws.ActiveTab;
        _ws.Load(merged, Flows.Rev);
        _ws.ActiveTab = active;
    }

    private async Task ImportAsync()
    {
        var dialog = await Dialogs.ShowAsync<ImportDialog>((string?)null, new DialogOptions { MaxWidth = MaxWidth.Medium });
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: ImportRequest data })
        {
            var imported = _ws.Import(data.Items, newTab: data.NewTab, label: data.Source);
            Snackbar.Add($"Imported {imported.Count} objects", Severity.Success);
        }
    }

    private async Task ExportAsync()
    {
        var parameters = new DialogParameters<ExportDialog> { { d => d.Workspace, _ws }, { d => d.Canvas, _canvas } };
        await Dialogs.ShowAsync<ExportDialog>(null, parameters, new DialogOptions { MaxWidth = MaxWidth.Medium });
    }
}
