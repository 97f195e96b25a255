using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlowFleet.Runtime.Storage;

/// <summary>A deploy was refused because the flows changed since the caller read them (Node-RED's <c>version_mismatch</c>).</summary>
public sealed class FlowRevisionConflictException(string currentRev)
    : Exception("Flows were changed by someone else (rev " + currentRev + ")")
{
    public string CurrentRev { get; } = currentRev;
}

/// <summary>
/// Deploying flows the way every surface does it (admin API, editor, CLI): validate, check the revision, save
/// (credentials apart), then hand to the engine. A rejected document changes neither the file nor what runs.
/// </summary>
public sealed partial class FlowService(FlowEngine engine, IFlowStorage storage, ICredentialStore? credentials = null, ILogger<FlowService>? logger = null,
    IFlowHistory? history = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<FlowService>.Instance;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly QueuedFlowHistory? _history = history is null ? null : new QueuedFlowHistory(history);

    public FlowEngine Engine => engine;

    /// <summary>
    /// Every deploy kept (null when the host keeps no history). A deploy answers before its version is written; reads
    /// through this wait for it.
    /// </summary>
    public IFlowHistory? History => _history;

    /// <summary>Completes when the versions of every deploy so far are written (the host waits for it when it stops).</summary>
    public Task HistoryWritten => _history?.Written ?? Task.CompletedTask;

    /// <summary>The deployed document without credentials (what <c>GET /flows</c> serves).</summary>
    public FlowDocument Current { get; private set; } = FlowDocument.Empty;

    public string Rev => Current.Rev;

    /// <summary>The deployed flows without credentials.</summary>
    public JsonArray GetFlows() => (JsonArray)Current.Raw.DeepClone();

    /// <summary>Loads the stored flows and credentials and runs them (start-up and <c>reload</c> deploys).</summary>
    public async Task<DeployResult> LoadAsync(CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var flows = await storage.LoadAsync(cancellationToken) ?? [];
            var doc = FlowDocument.From(flows);
            var creds = credentials is null ? null : await credentials.LoadAsync(cancellationToken);
            var result = await RunAsync(creds is { Count: > 0 } ? WithCredentials(doc, creds) : doc, DeployType.Full, cancellationToken);
            Current = doc;
            // Flows that arrived outside a deploy (first start, an edited flows.json) become a version too, so the first
            // deploy has something to compare with and to go back to.
            await RecordAsync(doc, "load", new DeployInfo(null, "Flows loaded at start"), onlyIfNew: true);
            return result with { Rev = doc.Rev };
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Runs the stored flows when they differ from the running ones — another instance of a cluster deployed them to the
    /// shared store. Nothing is saved or added to the history (the deploying instance did both); null when nothing changed.
    /// </summary>
    public async Task<DeployResult?> ApplyStoredAsync(DeployType type, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            // The stores parse a fresh array per load: the document takes it without a copy.
            var doc = FlowDocument.Adopt(await storage.LoadAsync(cancellationToken) ?? []);
            if (doc.Rev == Current.Rev)
            {
                return null;
            }
            var creds = credentials is null ? null : await credentials.LoadAsync(cancellationToken);
            var result = await RunAsync(creds is { Count: > 0 } ? WithCredentials(doc, creds) : doc, type, cancellationToken);
            Current = doc;
            _logger.LogInformation("Flows deployed by another instance applied ({Type}), rev {Rev}", type, doc.Rev);
            return result with { Rev = doc.Rev };
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Validates, saves and deploys. <paramref name="expectedRev"/>, when given, must match the deployed rev.</summary>
    public Task<DeployResult> DeployAsync(JsonNode flows, DeployType type, string? expectedRev = null, CancellationToken cancellationToken = default) =>
        DeployAsync(flows, type, expectedRev, null, cancellationToken);

    /// <summary>Deploys a version from the history as a new deploy (a full one), so history is never rewritten.</summary>
    /// <exception cref="KeyNotFoundException">The version is not (or no longer) kept.</exception>
    public async Task<(DeployResult Result, FlowVersion Restored)> RestoreAsync(long version, DeployInfo? info, CancellationToken cancellationToken = default)
    {
        var kept = _history is null ? null : await _history.GetAsync(version, cancellationToken);
        if (kept is null)
        {
            throw new KeyNotFoundException($"Version {version} is not in the deploy history");
        }
        var message = string.IsNullOrWhiteSpace(info?.Message) ? $"Restored version {version}" : info.Message;
        // The kept flows were read for this restore alone: the document takes them without a copy.
        var result = await DeployAsync(FlowDocument.Adopt(kept.Flows), DeployType.Full, null, new DeployInfo(info?.User, message, version), cancellationToken);
        return (result, kept);
    }

    /// <summary>Validates, saves, deploys and keeps the deploy in the history with who deployed and why.</summary>
    public Task<DeployResult> DeployAsync(JsonNode flows, DeployType type, string? expectedRev, DeployInfo? info, CancellationToken cancellationToken = default) =>
        DeployAsync(FlowDocument.From(flows), type, expectedRev, info, cancellationToken);

    /// <summary>
    /// Saves and deploys a validated document (<see cref="FlowDocument.Adopt"/> spares a copy of a request body) and keeps
    /// the deploy in the history with who deployed and why; completes once the new nodes run (see <see cref="BeginDeployAsync"/>).
    /// </summary>
    public async Task<DeployResult> DeployAsync(FlowDocument candidate, DeployType type, string? expectedRev, DeployInfo? info, CancellationToken cancellationToken = default) =>
        await (await BeginDeployAsync(candidate, type, expectedRev, info, cancellationToken)).Started;

    /// <summary>
    /// <see cref="DeployAsync(FlowDocument, DeployType, string?, DeployInfo?, CancellationToken)"/> that returns where
    /// Node-RED answers a deploy: the flows are saved (<c>flows.json</c> written and fsynced and renamed over the old one) and the changed nodes stopped;
    /// the new nodes are built and started after it (<see cref="FlowEngine.BeginDeployAsync"/> says what a client sees
    /// meanwhile), and the next deploy waits for them. The history version is written after it too (<see cref="History"/>
    /// waits for it).
    /// </summary>
    public Task<DeployProgress> BeginDeployAsync(FlowDocument candidate, DeployType type, string? expectedRev, DeployInfo? info, CancellationToken cancellationToken = default) =>
        BeginDeployAsync(candidate, type, expectedRev, info, answered: null, cancellationToken);

    /// <summary>
    /// <see cref="BeginDeployAsync(FlowDocument, DeployType, string?, DeployInfo?, CancellationToken)"/> for a caller that
    /// answers a client: the deploy's log line and history version wait for <paramref name="answered"/> (the answer sent),
    /// so that no thread they wake takes a core from the answer on a small machine.
    /// </summary>
    public async Task<DeployProgress> BeginDeployAsync(FlowDocument candidate, DeployType type, string? expectedRev, DeployInfo? info, Task? answered,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        await _lock.WaitAsync(cancellationToken);
        var handedOver = false;
        try
        {
            if (!string.IsNullOrEmpty(expectedRev) && expectedRev != Rev)
            {
                throw new FlowRevisionConflictException(Rev);
            }
            // Most deploys carry no credentials: then the validated copy is the document, without a second copy.
            var (clean, creds) = SplitCredentials(candidate);
            var doc = clean is null ? candidate : FlowDocument.Adopt(clean);
            if (credentials is not null)
            {
                var merged = new Dictionary<string, JsonObject>(await credentials.LoadAsync(cancellationToken), StringComparer.Ordinal);
                foreach (var (id, c) in creds)
                {
                    // Per field, as Node-RED: a form that sends only the field the user changed (one of tls-config's
                    // four) keeps the others; an empty value clears that field.
                    var node = merged.TryGetValue(id, out var stored) ? (JsonObject)stored.DeepClone() : [];
                    foreach (var (field, value) in c)
                    {
                        if (value is null || (value is JsonValue v && v.TryGetValue<string>(out var text) && text.Length == 0))
                        {
                            node.Remove(field);
                        }
                        else
                        {
                            node[field] = value.DeepClone();
                        }
                    }
                    merged[id] = node;
                }
                var gone = merged.Keys.Where(id => !doc.ById.ContainsKey(id)).ToList();
                foreach (var id in gone)
                {
                    merged.Remove(id);
                }
                if (creds.Count > 0 || gone.Count > 0)
                {
                    await credentials.SaveAsync(merged, cancellationToken);
                }
                creds = merged;
            }
            // flows.json is written on another core while the engine plans and diffs the deploy; it changes what runs only
            // once the file is saved (a save that fails still fails the deploy with nothing changed).
            var saved = SaveBesideAsync(doc, cancellationToken);
            DeployProgress run;
            try
            {
                run = await BeginRunAsync(creds.Count > 0 ? WithCredentials(doc, creds) : doc, type, cancellationToken, saved);
            }
            catch
            {
                // The engine may have failed before it waited for the save (BeginRunAsync waited for it as well).
                await saved.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw;
            }
            DeployTrace.Mark("engine returned");
            Current = doc;
            _ = LogDeployedAsync(answered, type, doc.Rev);
            var kind = type.ToString().ToLowerInvariant();
            _history?.Enqueue(() => RecordAsync(doc, kind, info, onlyIfNew: false), answered);
            DeployTrace.Mark("history queued");
            // The next deploy waits until these nodes run (the lock is released then).
            var started = ReleaseWhenStartedAsync(run.Started, doc.Rev);
            handedOver = true;
            return new DeployProgress(doc.Rev, run.Stopped, started);
        }
        finally
        {
            if (!handedOver)
            {
                _lock.Release();
            }
        }
    }

    private async Task LogDeployedAsync(Task? answered, DeployType type, string rev)
    {
        if (answered is not null)
        {
            await answered.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _logger.LogInformation("Flows deployed ({Type}), rev {Rev}", type, rev);
    }

    private async Task<DeployResult> ReleaseWhenStartedAsync(Task<DeployResult> started, string rev)
    {
        try
        {
            return (await started) with { Rev = rev };
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The flows run already: a history that cannot be written is logged, never a failed deploy.</summary>
    private async Task RecordAsync(FlowDocument doc, string type, DeployInfo? info, bool onlyIfNew)
    {
        if (_history is null)
        {
            return;
        }
        try
        {
            // Straight to the store: a deploy's version is written from the history's queue; a load's after what is queued.
            if (onlyIfNew)
            {
                await _history.Written;
                if ((await history!.ListAsync(1, CancellationToken.None)).FirstOrDefault()?.Rev == doc.Rev)
                {
                    return;
                }
            }
            // A pooled copy of the document's bytes (a fresh one would be a large-object-heap array per deploy).
            using var json = doc.RentUtf8Json();
            await history!.RecordAsync(doc.Raw, doc.Rev, type, info, CancellationToken.None, json.WrittenMemory);
        }
#pragma warning disable CA1031 // Storage errors of any kind (disk full, locked file) must not undo a deploy that ran.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogError(ex, "The deploy (rev {Rev}) could not be kept in the history", doc.Rev);
        }
    }

    /// <summary>The flows without credentials (null when none carries any) and the credentials by node id.</summary>
    private static (JsonArray? Clean, Dictionary<string, JsonObject> Credentials) SplitCredentials(FlowDocument doc)
    {
        // Known from the document's index: asking every node object would build all of their properties.
        if (!doc.HasCredentials)
        {
            return (null, new Dictionary<string, JsonObject>(StringComparer.Ordinal));
        }
        var clean = (JsonArray)doc.Raw.DeepClone();
        var creds = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var n in clean.OfType<JsonObject>())
        {
            if (n["credentials"] is JsonObject c && n["id"]?.GetValue<string>() is { } id)
            {
                n.Remove("credentials");
                if (c.Count > 0)
                {
                    creds[id] = (JsonObject)c.DeepClone();
                }
            }
        }
        return (clean, creds);
    }

    /// <summary>The running copy gets its credentials back, the stored and served copies never do.</summary>
    private static FlowDocument WithCredentials(FlowDocument doc, IReadOnlyDictionary<string, JsonObject> creds)
    {
        var copy = (JsonArray)doc.Raw.DeepClone();
        foreach (var n in copy.OfType<JsonObject>())
        {
            if (n["id"]?.GetValue<string>() is { } id && creds.TryGetValue(id, out var c))
            {
                n["credentials"] = c.DeepClone();
            }
        }
        // The copy is this method's own: the document takes it without copying it again.
        return FlowDocument.Adopt(copy);
    }
}
