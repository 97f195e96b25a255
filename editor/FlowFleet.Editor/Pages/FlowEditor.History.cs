using FlowFleet.Editor.Components;
using FlowFleet.Editor.Model;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Storage;
using MudBlazor;

namespace FlowFleet.Editor.Pages;

/// <summary>The editor's side of the deploy history: who deploys with which note, comparisons, restores.</summary>
public partial class FlowEditor
{
    private HistoryComparison? _comparison;
    private string? _deployNote;

    /// <summary>Who deploys and the note given for this deploy (used once).</summary>
    private async Task<DeployInfo> TakeDeployInfoAsync()
    {
        var user = (await Auth.GetAuthenticationStateAsync()).User.Identity?.Name;
        var note = _deployNote;
        _deployNote = null;
        return new DeployInfo(user, note);
    }

    private async Task DeployWithNoteAsync()
    {
        var dialog = await Dialogs.ShowAsync<DeployNoteDialog>((string?)null, new DialogOptions { MaxWidth = MaxWidth.Small, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: string note })
        {
            _deployNote = note;
            await DeployAsync(_mode);
        }
    }

    private async Task RestoreVersionAsync(long version)
    {
        if (!_canWrite)
        {
            Snackbar.Add("Your role can look at flows but not deploy them.", Severity.Warning);
            return;
        }
        _deploying = true;
        try
        {
            var (result, _) = await Flows.RestoreAsync(version, await TakeDeployInfoAsync());
            var active = _ws.ActiveTab;
            _ws.Load(Flows.GetFlows(), Flows.Rev);
            if (active is not null && _ws.Find(active) is not null)
            {
                _ws.ActiveTab = active;
            }
            _comparison = null;
            Snackbar.Add($"Restored version {version} as a new deploy: {result.Started} nodes started", Severity.Success);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or FlowValidationException)
        {
            Snackbar.Add("Not restored: " + ex.Message, Severity.Error);
        }
        finally
        {
            _deploying = false;
        }
    }
}
