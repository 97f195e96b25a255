using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Editor.Components;
using FlowFleet.Editor.Model;
using FlowFleet.Runtime.Nodes;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;

namespace FlowFleet.Editor.Pages;

/// <summary>The page's state and life: loading the flows and descriptors, live debug, status and deploy notices, re-rendering, disposal.</summary>
public sealed partial class FlowEditor
{
    private readonly FlowWorkspace _ws = new();
    private readonly List<FlowFleet.Runtime.DebugMessage> _debug = [];
    private readonly Dictionary<string, FlowFleet.Runtime.Nodes.NodeStatus> _statuses = new(StringComparer.Ordinal);
    private Dictionary<string, JsonObject> _descriptors = new(StringComparer.Ordinal);
    private FlowCanvas? _canvas;
    private IDisposable? _debugSub;
    private IDisposable? _statusSub;
    private IDisposable? _deploySub;
    private string _mode = "full";
    private string? _renaming;
    private string? _highlighted;
    private readonly List<(DateTimeOffset At, string Text, Severity Level)> _notifications = [];
    private bool _deploying;
    private int _sidebarTab;
    private int _refreshQueued;
    private bool _ready;

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender)
        {
            await LoadDraftAsync();
            // Interactive now (not just prerendered), a kept draft offered: end-to-end tests wait for this.
            _ready = true;
            StateHasChanged();
        }
        else if (_session is not null && _ws.ActiveTab != _shownTab)
        {
            // A new flow, one picked from the list or a search hit: its tab scrolls into the strip's view, as in Node-RED.
            _shownTab = _ws.ActiveTab;
            await _session.InvokeVoidAsync("showActiveTab", _tabStrip);
        }
    }

    private ElementReference _tabStrip;
    private string? _shownTab;

    private bool _canWrite;
    private bool _canInject;

    protected override async Task OnInitializedAsync()
    {
        var user = (await Auth.GetAuthenticationStateAsync()).User;
        _canWrite = FleetUi.Can(user, "flows.write");
        _canInject = FleetUi.Can(user, "inject.write");
        _descriptors = Registry.All.ToDictionary(d => d.Type, DescriptorHints.ToJson, StringComparer.Ordinal);
        _ws.Measure = n =>
        {
            var d = _descriptors.GetValueOrDefault(FlowWorkspace.TypeOf(n));
            return (NodeGeometry.Width(NodeGeometry.Label(n, d), NodeGeometry.Inputs(n, d)), NodeGeometry.Height(NodeGeometry.Outputs(n, d)));
        };
        _ws.Load(Flows.GetFlows(), Flows.Rev);
        _draftKey = "flowfleet.draft:" + (user.Identity?.Name ?? "");
        _ws.Changed += () =>
        {
            QueueDraftSave();
            InvokeAsync(StateHasChanged);
        };
        foreach (var n in Engine.Nodes)
        {
            if (n.Status != FlowFleet.Runtime.Nodes.NodeStatus.Clear)
            {
                _statuses[n.Id] = n.Status;
            }
        }
        _debugSub = Events.Debug.Subscribe(m =>
        {
            lock (_debug)
            {
                _debug.Add(m);
                if (_debug.Count > 500)
                {
                    _debug.RemoveAt(0);
                }
            }
            Refresh();
        });
        _statusSub = Events.Status.Subscribe(s =>
        {
            lock (_statuses)
            {
                _statuses[s.NodeId] = s.Status;
            }
            Refresh();
        });
        _deploySub = Events.Deployed.Subscribe(rev =>
        {
            if (rev != _ws.Rev && !_deploying)
            {
                _ = InvokeAsync(() => Snackbar.Add("Someone else deployed new flows. Deploying now will ask before overwriting.", Severity.Warning));
            }
        });
    }

    /// <summary>Debug and status bursts re-render at most every 100 ms.</summary>
    private void Refresh()
    {
        if (Interlocked.Exchange(ref _refreshQueued, 1) == 0)
        {
            _ = Task.Delay(100).ContinueWith(_ =>
            {
                Interlocked.Exchange(ref _refreshQueued, 0);
                return InvokeAsync(StateHasChanged);
            }, TaskScheduler.Default);
        }
    }


    public void Dispose()
    {
        _debugSub?.Dispose();
        _statusSub?.Dispose();
        _deploySub?.Dispose();
    }
}
