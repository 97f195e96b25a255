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

    /// <summary>Starts the stored flows at process start, or enters safe mode (see the class summary).</summary>
    public async Task<DeployResult?> StartAsync(bool safe, CancellationToken cancellationToken = default)
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
                return await LoadAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                reason = "the stored flows failed to start: " + ex.Message;
            }
        }
        await EnterSafeModeAsync(reason, cancellationToken);
        return null;
    }

    private async Task EnterSafeModeAsync(string reason, CancellationToken cancellationToken)
    {
        await engine.StopFlowsAsync();
        await _lock.WaitAsync(cancellationToken);
        try
        {
            // Show the stored flows in the editor if they are valid at all; the engine keeps them without running any.
            try
            {
                var doc = FlowDocument.From(await storage.LoadAsync(cancellationToken) ?? []);
                await engine.DeployAsync(doc, DeployType.Full, cancellationToken);
                Current = doc;
            }
            catch (Exception ex) when (ex is FlowValidationException or InvalidDataException or IOException)
            {
                reason += ". The stored file is kept as it is; deploying replaces it (the old one stays as flows.json.backup)";
            }
            _safeModeReason = "Safe mode, flows are stopped: " + reason + ". Fix the flows and deploy to start them.";
            EndStarting();
        }
        finally
        {
            _lock.Release();
        }
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
    private async Task<DeployResult> RunAsync(FlowDocument doc, DeployType type, CancellationToken cancellationToken)
    {
        BeginStarting();
        try
        {
            var leaving = _safeModeReason is not null;
            var result = await engine.DeployAsync(doc, type, start: leaving, cancellationToken);
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
