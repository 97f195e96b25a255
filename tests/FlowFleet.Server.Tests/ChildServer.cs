using System.Diagnostics;
using System.Text;

namespace FlowFleet.Server.Tests;

/// <summary>
/// The built server (<c>flowfleet.dll</c>) in a child process on 127.0.0.1 with a random port: for drills that could
/// take a process down, so a crash shows as an exited child instead of killing the test run.
/// </summary>
public sealed class ChildServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildServer(Process process, string dataDir)
    {
        _process = process;
        DataDir = dataDir;
    }

    public string DataDir { get; }

    public HttpClient Client { get; private set; } = new();

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the server wrote so far (standard output and error).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts the server (no auth) on <paramref name="dataDir"/> and waits until it listens.</summary>
    public static Task<ChildServer> StartAsync(string dataDir, params string[] extraArgs) =>
        StartAsync(dataDir, new Dictionary<string, string>(), false, 0, extraArgs);

    /// <summary>
    /// Starts the server with <paramref name="environment"/> added to its environment (as a container's settings would
    /// be), with authentication on, on <paramref name="port"/> (0: a free one; a restarted instance keeps its old one).
    /// An empty value removes the variable.
    /// </summary>
    public static Task<ChildServer> StartWithEnvironmentAsync(string dataDir, IReadOnlyDictionary<string, string> environment, int port = 0, params string[] extraArgs) =>
        StartAsync(dataDir, environment, true, port, extraArgs);

    /// <summary>Starts the server (no auth) with its open-file limit (soft and hard) lowered to <paramref name="openFiles"/>, as <c>ulimit -n</c> does.</summary>
    public static Task<ChildServer> StartWithFileLimitAsync(string dataDir, int openFiles, params string[] extraArgs) =>
        StartAsync(dataDir, new Dictionary<string, string>(), false, 0, extraArgs, openFiles);

    private static async Task<ChildServer> StartAsync(string dataDir, IReadOnlyDictionary<string, string> environment, bool auth, int port, string[] extraArgs,
        int? openFiles = null)
    {
        string[] args = [Path.Combine(AppContext.BaseDirectory, "flowfleet.dll"), "--data", dataDir, .. auth ? Array.Empty<string>() : ["--no-auth"],
            "--urls", $"http://127.0.0.1:{port}", .. extraArgs];
        // The shell lowers the limit and then becomes the server (exec: same process, so Kill still reaches it).
        var start = openFiles is { } limit
            ? new ProcessStartInfo("bash", ["-c", $"ulimit -n {limit} && exec dotnet \"$@\"", "bash", .. args])
            : new ProcessStartInfo("dotnet", args);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = dataDir;
        foreach (var (key, value) in environment)
        {
            if (value.Length == 0)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
        var server = new ChildServer(Process.Start(start)!, dataDir);
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var exited = server._process.WaitForExitAsync();
        var first = await Task.WhenAny(server._listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != server._listening.Task)
        {
            var log = server.Log;
            await server.DisposeAsync();
            throw new InvalidOperationException("The server did not start:\n" + log);
        }
        server.Client = new HttpClient { BaseAddress = await server._listening.Task, Timeout = TimeSpan.FromSeconds(60) };
        // The stored flows start after the server listens (/healthz says "starting" meanwhile); drills begin once they run.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < until && !server._process.HasExited
            && (await server.Client.GetStringAsync(new Uri("/healthz", UriKind.Relative))).Contains("\"starting\"", StringComparison.Ordinal))
        {
            await Task.Delay(20);
        }
        return server;
    }

    /// <summary>Waits until the log holds <paramref name="text"/> (or the timeout passes); true when it does.</summary>
    public async Task<bool> WaitForLogAsync(string text, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > until || _process.HasExited)
            {
                return Log.Contains(text, StringComparison.Ordinal);
            }
            await Task.Delay(50);
        }
        return true;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
        const string Marker = "Now listening on: ";
        var at = line.IndexOf(Marker, StringComparison.Ordinal);
        if (at >= 0)
        {
            _listening.TrySetResult(new Uri(line[(at + Marker.Length)..].Trim()));
        }
    }

    /// <summary>Stops the server (SIGKILL, like a crash, when <paramref name="kill"/>; else a normal shutdown).</summary>
    public async Task StopAsync(bool kill = true)
    {
        if (!_process.HasExited)
        {
            if (kill)
            {
                _process.Kill(entireProcessTree: true);
            }
            else
            {
                using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await term.WaitForExitAsync();
            }
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
