using System.Diagnostics;
using System.Net;
using System.Text;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>
/// A real Node-RED 4 on 127.0.0.1 with a temp user directory, started from the copy <c>./test.sh</c> installs into
/// <c>$HOME/.cache/flowfleet/node-red</c> (or <c>FLOWFLEET_NODE_RED</c>).
/// </summary>
public sealed class NodeRedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private NodeRedProcess(Process process, Uri baseUri, string userDir)
    {
        _process = process;
        BaseUri = baseUri;
        UserDir = userDir;
    }

    public Uri BaseUri { get; }

    public string UserDir { get; }

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

    /// <summary>The installed <c>red.js</c>, or null when Node-RED is not installed.</summary>
    public static string? FindInstall()
    {
        var root = Environment.GetEnvironmentVariable("FLOWFLEET_NODE_RED") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "flowfleet", "node-red");
        var red = Path.Combine(root, "node_modules", "node-red", "red.js");
        return File.Exists(red) ? red : null;
    }

    public static async Task<NodeRedProcess> StartAsync(string redJs, IReadOnlyDictionary<string, string> env)
    {
        var userDir = Directory.CreateTempSubdirectory("flowfleet-nodered-").FullName;
        var port = Loopback.FreePort();
        var settings = Path.Combine(userDir, "settings.js");
        await File.WriteAllTextAsync(settings, $$"""
            module.exports = {
                uiHost: "127.0.0.1", uiPort: {{port}}, userDir: {{Quote(userDir)}}, flowFile: "flows.json",
                logging: { console: { level: "warn" } },
                contextStorage: { default: { module: "memory" }, second: { module: "memory" } },
                diagnostics: { enabled: false }, runtimeState: { enabled: false }, telemetry: { enabled: false },
                editorTheme: { tours: false }, functionExternalModules: true, debugMaxLength: 1000
            };
            """);
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = userDir,
        };
        foreach (var a in new[] { redJs, "-u", userDir, "-s", settings })
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env)
        {
            start.Environment[k] = v;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started");
        var nr = new NodeRedProcess(process, new Uri($"http://127.0.0.1:{port}/"), userDir);
        process.OutputDataReceived += (_, e) => nr.Append(e.Data);
        process.ErrorDataReceived += (_, e) => nr.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = nr.BaseUri, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("Node-RED exited at start:\n" + nr.Log);
            }
            try
            {
                using var r = await http.GetAsync("flows");
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return nr;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }
            await Task.Delay(200);
        }
        await nr.DisposeAsync();
        throw new InvalidOperationException("Node-RED did not start within 60 s:\n" + nr.Log);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            if (_log.Length < 200_000)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (TimeoutException)
        {
            // Left to the OS.
        }
        _process.Dispose();
        try
        {
            Directory.Delete(UserDir, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory; left behind if busy.
        }
    }
}
