using System.Globalization;
using System.Runtime.InteropServices;
using Jint;
using Jint.Native;
using Jint.Runtime.Interop;
using JsEngine = Jint.Engine;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// The modules a function node may list in its setup (Node-RED's <c>libs</c>, "Setup → Modules"): Node's built-in
/// <c>os</c> and <c>path</c>, with real values from .NET. npm packages are not loaded (yet): such a module fails to load
/// with a message that says so.
/// </summary>
public static class ScriptModules
{
    /// <summary>Names the scripts' own globals take; a module variable may not reuse one (Node-RED's moduleNameError).</summary>
    public static readonly IReadOnlySet<string> ReservedNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "node", "msg", "console", "util", "Buffer", "Date", "RED", "context", "flow", "global", "env", "setTimeout",
        "clearTimeout", "setInterval", "clearInterval", "promisify", "URL", "URLSearchParams", "__node__",
    };

    /// <summary>True for a module this runtime provides (<c>os</c>, <c>path</c>, also as <c>node:os</c>).</summary>
    public static bool IsBuiltIn(string module) => Strip(module) is "os" or "path";

    /// <summary>Why a module cannot be loaded, in Node's words, or null when it can.</summary>
    public static string? LoadError(string module) =>
        IsBuiltIn(module) ? null : $"Error: Cannot find module '{module}' (FlowFleet provides the built-in modules os and path; npm packages are not supported)";

    /// <summary>The module's object in this engine.</summary>
    internal static JsValue Load(JsEngine engine, string module) => Strip(module) switch
    {
        "os" => Os(engine),
        "path" => PathModule(engine),
        _ => throw new InvalidOperationException(LoadError(module)),
    };

    private static string Strip(string module) => module.StartsWith("node:", StringComparison.Ordinal) ? module[5..] : module;

    private static JsObject Os(JsEngine engine)
    {
        var os = new JsObject(engine);
        void Fn(string name, Func<JsValue> body) => os.CreateDataProperty(name, new ClrFunction(engine, name, (_, _) => body()));
        os.CreateDataProperty("EOL", Environment.NewLine);
        Fn("hostname", () => System.Net.Dns.GetHostName());
        Fn("platform", () => Platform());
        Fn("type", () => OperatingSystem.IsWindows() ? "Windows_NT" : OperatingSystem.IsMacOS() ? "Darwin" : "Linux");
        Fn("arch", () => RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "x64", Architecture.X86 => "ia32", Architecture.Arm64 => "arm64", Architecture.Arm => "arm",
            var other => other.ToString().ToLowerInvariant(),
        });
        Fn("release", () => ReadFirstLine("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.Version.ToString());
        Fn("endianness", () => BitConverter.IsLittleEndian ? "LE" : "BE");
        Fn("homedir", () => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
        Fn("tmpdir", () => Path.GetTempPath().TrimEnd(Path.DirectorySeparatorChar) is { Length: > 0 } t ? t : "/");
        Fn("uptime", () => Math.Floor(Environment.TickCount64 / 1000.0));
        Fn("totalmem", () => MemInfo("MemTotal") ?? (double)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        Fn("freemem", () => MemInfo("MemAvailable") ?? MemInfo("MemFree") ?? 0);
        Fn("loadavg", () => new JsArray(engine, LoadAverage().Select(v => (JsValue)v).ToArray()));
        Fn("cpus", () => new JsArray(engine, Enumerable.Range(0, Environment.ProcessorCount).Select(_ => (JsValue)Cpu(engine)).ToArray()));
        return os;
    }

    private static string Platform() =>
        OperatingSystem.IsWindows() ? "win32" : OperatingSystem.IsMacOS() ? "darwin" : OperatingSystem.IsFreeBSD() ? "freebsd" : "linux";

    private static JsObject Cpu(JsEngine engine)
    {
        var cpu = new JsObject(engine);
        cpu.CreateDataProperty("model", CpuModel() ?? "unknown");
        cpu.CreateDataProperty("speed", 0);
        var times = new JsObject(engine);
        foreach (var k in new[] { "user", "nice", "sys", "idle", "irq" })
        {
            times.CreateDataProperty(k, 0);
        }
        cpu.CreateDataProperty("times", times);
        return cpu;
    }

    private static string? CpuModel()
    {
        try
        {
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A <c>/proc/meminfo</c> value in bytes (Node's totalmem/freemem read the same counters on Linux).</summary>
    private static double? MemInfo(string key)
    {
        try
        {
            if (!File.Exists("/proc/meminfo"))
            {
                return null;
            }
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal));
            var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: >= 2 } && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static double[] LoadAverage()
    {
        var line = ReadFirstLine("/proc/loadavg");
        var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts is not { Length: >= 3 })
        {
            return [0, 0, 0];
        }
        return parts.Take(3).Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0).ToArray();
    }

    private static string? ReadFirstLine(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadLines(file).FirstOrDefault()?.Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static JsObject PathModule(JsEngine engine)
    {
        var path = new JsObject(engine);
        void Fn(string name, Func<JsValue[], JsValue> body) => path.CreateDataProperty(name, new ClrFunction(engine, name, (_, a) => body(a)));
        static string S(JsValue[] a, int i) => i < a.Length && a[i].IsString() ? a[i].AsString()
            : throw new Jint.Runtime.JavaScriptException($"The \"path\" argument must be of type string. Received {(i < a.Length ? a[i].Type.ToString().ToLowerInvariant() : "undefined")}");
        path.CreateDataProperty("sep", "/");
        path.CreateDataProperty("delimiter", ":");
        Fn("join", a => PosixPath.Join(a.Select((_, i) => S(a, i))));
        Fn("resolve", a => PosixPath.Resolve(a.Select((_, i) => S(a, i)), Directory.GetCurrentDirectory().Replace('\\', '/')));
        Fn("normalize", a => PosixPath.Normalize(S(a, 0)));
        Fn("isAbsolute", a => S(a, 0).StartsWith('/'));
        Fn("basename", a => PosixPath.Basename(S(a, 0), a.Length > 1 && a[1].IsString() ? a[1].AsString() : null));
        Fn("dirname", a => PosixPath.Dirname(S(a, 0)));
        Fn("extname", a => PosixPath.Extname(S(a, 0)));
        return path;
    }
}
