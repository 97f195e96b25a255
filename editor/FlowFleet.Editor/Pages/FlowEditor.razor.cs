using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Editor.Model;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace FlowFleet.Editor.Pages;

/// <summary>No lost work: the un-deployed workspace is kept in this browser's localStorage (per user) after every change and
/// offered back when the editor opens again — after a reload, a dropped connection or a server restart.</summary>
public sealed partial class FlowEditor
{
    private IJSObjectReference? _session;
    private string _draftKey = "flowfleet.draft";
    private DraftOffer? _draftOffer;
    private int _draftQueued;
    private string _draftState = "none";

    private sealed record DraftOffer(JsonArray Flows, string? Rev, string? ActiveTab, DateTimeOffset SavedAt);

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    /// <summary>Reads a kept draft; offers it when it differs from what the server has.</summary>
    private async Task LoadDraftAsync()
    {
        _session = await JS.InvokeAsync<IJSObjectReference>("import", "./_content/FlowFleet.Editor/session.js");
        var text = await _session.InvokeAsync<string?>("loadDraft", _draftKey);
        if (string.IsNullOrEmpty(text))
        {
            return;
        }
        try
        {
            var draft = JsonNode.Parse(text) as JsonObject;
            if (draft?["flows"] is JsonArray flows && !JsonNode.DeepEquals(flows, _ws.ToFlows()))
            {
                _draftOffer = new DraftOffer((JsonArray)flows.DeepClone(), draft["rev"]?.GetValue<string>(), draft["activeTab"]?.GetValue<string>(),
                    draft["savedAt"] is JsonValue at && at.TryGetValue<DateTimeOffset>(out var t) ? t : DateTimeOffset.UtcNow);
                StateHasChanged();
                return;
            }
        }
        catch (JsonException)
        {
            // A damaged draft is dropped below.
        }
        await _session.InvokeVoidAsync("clearDraft", _draftKey);
    }

    private async Task RestoreDraftAsync()
    {
        if (_draftOffer is { } offer)
        {
            _draftOffer = null;
            _ws.RestoreDraft(offer.Flows, offer.Rev, offer.ActiveTab);
            await SaveDraftAsync();
        }
    }

    private async Task DiscardDraftAsync()
    {
        _draftOffer = null;
        if (_session is not null)
        {
            await _session.InvokeVoidAsync("clearDraft", _draftKey);
        }
        await SaveDraftAsync();
    }

    /// <summary>After a change: keep the workspace (debounced) while it differs from what is deployed, and guard leaving.</summary>
    private void QueueDraftSave()
    {
        if (_session is null || _draftOffer is not null)
        {
            return;
        }
        // Rendered with the change itself, so "saved" is only shown once this change is kept.
        _draftState = "pending";
        if (Interlocked.Exchange(ref _draftQueued, 1) == 1)
        {
            return;
        }
        _ = Task.Delay(150).ContinueWith(_ =>
        {
            Interlocked.Exchange(ref _draftQueued, 0);
            return InvokeAsync(SaveDraftAsync);
        }, TaskScheduler.Default);
    }

    private async Task SaveDraftAsync()
    {
        if (_session is null || _draftOffer is not null)
        {
            return;
        }
        try
        {
            // A blank first flow on a fresh install is not work worth offering back.
            var dirty = _ws.HasChanges && (_ws.HasDeployed || _ws.Items.Any(o => FlowWorkspace.TypeOf(o) != "tab"));
            await _session.InvokeVoidAsync("setDirty", dirty);
            if (dirty)
            {
                var draft = new JsonObject
                {
                    ["rev"] = _ws.Rev, ["activeTab"] = _ws.ActiveTab, ["savedAt"] = DateTimeOffset.UtcNow, ["flows"] = _ws.ToFlows(),
                };
                await _session.InvokeAsync<bool>("saveDraft", _draftKey, draft.ToJsonString());
                _draftState = "saved";
            }
            else
            {
                await _session.InvokeVoidAsync("clearDraft", _draftKey);
                _draftState = "none";
            }
            StateHasChanged();
        }
        catch (JSDisconnectedException)
        {
            // The circuit is gone; the last saved draft stays in the browser.
        }
    }
}
