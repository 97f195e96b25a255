using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime.Storage;

/// <summary>
/// Safe mode (Node-RED's <c>--safe</c>): the editor and APIs run, the flows do not. Entered on request, when the stored
/// flows fail to start, or when the previous process died while starting or deploying them (the start-up marker was
/// left behind: a stack overflow or an out-of-memory kill can't be caught, so the next start must not repeat it). Any
/// deploy, or starting the flows, leaves it.
/// </summary>
public sealed partial class FlowService
{
    private string? _safeModeReason;

    /// <summary>Why the flows are held stopped in safe mode; null when not in safe mode.</summary>
    public string? SafeModeReason
    {
        get
        {
            if (_safeModeReason is not null && engine.Started)
            {
                _safeModeReason = null;
            }
            return _safeModeReason;
        }
    }

    /// <summary>The file that exists only while flows are being started or deployed (null: no marker).</summary>
    public string? StartupMarkerPath { get; init; }

    private Task<DeployResult?> _starting = Task.FromResult<DeployResult?>(null);

    /// <summary>
    /// Completes when the stored flows started by <see cref="BeginStartAsync"/> run (their result), or with null when the
    /// start ended in safe mode. Deploys wait for it; until then <see cref="Current"/> is the stored document.
    /// </summary>
    public Task<DeployResult?> Starting => _starting;

    /// <summary>Starts the stored flows at process start, or enters safe mode (see the class summary), and waits for both.</summary>
    public async Task<DeployResult?> StartAsync(bool safe, CancellationToken cancellationToken = default)
    {
        await BeginStartAsync(safe, cancellationToken);
        return await Starting;
    }

    /// <summary>
    /// Reads the stored flows and starts them in the background (<see cref="Starting"/>), as Node-RED does: the server can
    /// answer while 1,000 nodes are built. When this returns, <see cref="Current"/> is the stored document and deploys wait
    /// (the deploy lock is held until the start ends); safe mode is decided and entered before it returns. The nodes are
    /// built once <paramref name="buildAfter"/> completes (the server: once it listens, so the build does not compete with
    /// the start for the CPU); deploys wait for the build as before.
    /// </summary>
    public async Task BeginStartAsync(bool safe, CancellationToken cancellationToken = default, Task? buildAfter = null)
    {
        await _lock.WaitAsync(cancellationToken);
        var handedOver = false;
        try
        {
            string? reason = null;
            if (safe)
            {
                reason = "started with --safe";
            }
            else if (StartupMarkerPath is not null && File.Exists(StartupMarkerPath))
            {
                reason = "the previous run stopped while it was starting or deploying these flows (it left " + StartupMarkerPath + " behind)";
            }
            if (reason is null)
            {
                try
                {
                    var doc = FlowDocument.From(await storage.LoadAsync(cancellationToken) ?? []);
                    var creds = credentials is null ? null : await credentials.LoadAsync(cancellationToken);
                    Current = doc;
                    // Off the caller's thread: the host goes on to listen while the nodes are built.
                    _starting = buildAfter is null
                        ? Task.Run(() => RunStoredAsync(doc, creds), CancellationToken.None)
                        : RunStoredAfterAsync(buildAfter, doc, creds);
                    handedOver = true;
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    reason = "the stored flows failed to start: " + ex.Message;
                }
            }
            await EnterSafeModeAsync(reason, cancellationToken);
            _starting = Task.FromResult<DeployResult?>(null);
        }
        finally
        {
            if (!handedOver)
            {
                _lock.Release();
            }
        }
    }

    private async Task<DeployResult?> RunStoredAfterAsync(Task buildAfter, FlowDocument doc, IReadOnlyDictionary<string, JsonObject>? creds)
    {
        // Whatever buildAfter ends with, the flows start (its outcome is the host's business, not the flows').
        await buildAfter.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        return await RunStoredAsync(doc, creds);
    }

    /// <summary>Runs the stored document (the deploy lock is held and released here); a failure enters safe mode.</summary>
    private async Task<DeployResult?> RunStoredAsync(FlowDocument doc, IReadOnlyDictionary<string, JsonObject>? creds)
    {
        try
        {
            string reason;
            try
            {
                var result = await RunAsync(creds is { Count: > 0 } ? WithCredentials(doc, creds) : doc, DeployType.Full, CancellationToken.None);
                // Flows that arrived outside a deploy (first start, an edited flows.json) become a version too, so the first
                // deploy has something to compare with and to go back to.
                await RecordAsync(doc, "load", new DeployInfo(null, "Flows loaded at start"), onlyIfNew: true);
                return result with { Rev = doc.Rev };
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                reason = "the stored flows failed to start: " + ex.Message;
            }
            await EnterSafeModeAsync(reason, CancellationToken.None);
            return null;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Shows the stored flows without running them; the caller holds the deploy lock.</summary>
    private async Task EnterSafeModeAsync(string reason, CancellationToken cancellationToken)
    {
        await engine.StopFlowsAsync();
        // Show the stored flows in the editor if they are valid at all; the engine keeps them without running any.
        try
        {
            var doc = FlowDocument.From(await storage.LoadAsync(cancellationToken) ?? []);
            await engine.DeployAsync(doc, DeployType.Full, cancellationToken);
            Current = doc;
        }
        catch (Exception ex) when (ex is FlowValidationException or InvalidDataException or IOException)
        {
            Current = FlowDocument.Empty;
            reason += ". The stored file is kept as it is; deploying replaces it (the old one stays as flows.json.backup)";
        }
        _safeModeReason = "Safe mode, flows are stopped: " + reason + ". Fix the flows and deploy to start them.";
        EndStarting();
        _logger.LogError("{Reason}", _safeModeReason);
    }

    /// <summary>Called before the engine runs flows: if the process dies before <see cref="EndStarting"/>, the next start is safe.</summary>
    private void BeginStarting()
    {
        if (StartupMarkerPath is null)
        {
            return;
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(StartupMarkerPath)!);
            File.WriteAllText(StartupMarkerPath, DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (IOException ex)
        {
            _logger.LogWarning("Cannot write the start-up marker {Path}: {Error}", StartupMarkerPath, ex.Message);
        }
    }

    private void EndStarting()
    {
        if (StartupMarkerPath is null)
        {
            return;
        }
        try
        {
            File.Delete(StartupMarkerPath);
        }
        catch (IOException ex)
        {
            _logger.LogWarning("Cannot remove the start-up marker {Path}: {Error}", StartupMarkerPath, ex.Message);
        }
    }

    /// <summary>Runs a deploy between the markers; a deploy while in safe mode starts the flows.</summary>
    private async Task<DeployResult> RunAsync(FlowDocument doc, DeployType type, CancellationToken cancellationToken) =>
        await (await BeginRunAsync(doc, type, cancellationToken)).Started;

    /// <summary>
    /// Begins a deploy between the markers: the end marker comes when its nodes run. With <paramref name="saved"/> (a deploy's
    /// save, see <see cref="SaveBesideAsync"/>) the start marker is written by the save, before the engine changes anything.
    /// </summary>
    private async Task<DeployProgress> BeginRunAsync(FlowDocument doc, DeployType type, CancellationToken cancellationToken, Task? saved = null)
    {
        if (saved is null)
        {
            BeginStarting();
        }
        var leaving = _safeModeReason is not null;
        DeployProgress progress;
        try
        {
            progress = await engine.BeginDeployAsync(doc, type, start: leaving, saved, cancellationToken);
        }
        catch
        {
            if (saved is not null)
            {
                // The marker is removed after the save that writes it, never before.
                await saved.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            EndStarting();
            throw;
        }
        return progress with { Started = EndRunAsync(progress.Started, leaving) };
    }

    /// <summary>
    /// A deploy's file work on another core while the engine plans and diffs it: the start-up marker (the engine builds
    /// nodes only after this completes) and the document's save.
    /// </summary>
    private Task SaveBesideAsync(FlowDocument doc, CancellationToken cancellationToken) => Task.Run(() =>
    {
        DeployTrace.Mark("save begins");
        BeginStarting();
        DeployTrace.Mark("start-up marker written");
        return storage.SaveAsync(doc, cancellationToken);
    }, CancellationToken.None);

    private async Task<DeployResult> EndRunAsync(Task<DeployResult> started, bool leaving)
    {
        try
        {
            var result = await started;
            if (leaving)
            {
                _safeModeReason = null;
                _logger.LogInformation("Left safe mode: flows deployed and started");
            }
            return result;
        }
        finally
        {
            EndStarting();
        }
    }
}
