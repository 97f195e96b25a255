using System.Diagnostics;
using System.Globalization;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>
/// A command gets every signal's default action, as Node-RED's do (libuv resets them all in the child before it runs the
/// command). .NET keeps in the child the signals its process was started with ignored — a server started in the background
/// of a non-interactive shell ignores SIGINT and SIGQUIT, and then <c>msg.kill: "SIGINT"</c> did nothing to a command. When
/// this process ignores a signal (other than SIGPIPE, which .NET sets and resets itself), commands start through
/// coreutils' <c>env --default-signal</c>, which resets them all and runs the command in its place (same pid).
/// </summary>
internal static class ExecSignals
{
    private const long SigPipe = 1L << (13 - 1);

    private static readonly Lazy<bool> s_reset = new(() =>
        OperatingSystem.IsLinux() && Ignored(ReadStatus()) != 0 && EnvResets());

    /// <summary>Runs <paramref name="psi"/>'s command through <c>env --default-signal</c> when this process ignores signals.</summary>
    public static void Apply(ProcessStartInfo psi)
    {
        // A command that is not there is left to fail at its start as before (ENOENT, return code -2): through env it
        // would start env and end with env's 127 instead.
        if (!s_reset.Value || !Found(psi.FileName))
        {
            return;
        }
        psi.ArgumentList.Insert(0, psi.FileName);
        psi.ArgumentList.Insert(0, "--default-signal");
        psi.FileName = "env";
    }

    /// <summary>True when <paramref name="file"/> is a path that exists or a name found on PATH.</summary>
    internal static bool Found(string file)
    {
        if (file.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(file);
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, file)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The ignored signals of a <c>/proc/PID/status</c> text (bit n-1 for signal n), SIGPIPE left out.</summary>
    internal static long Ignored(string? status)
    {
        foreach (var line in (status ?? "").Split('\n'))
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask))
            {
                return mask & ~SigPipe;
            }
        }
        return 0;
    }

    private static string? ReadStatus()
    {
        try
        {
            return File.ReadAllText("/proc/self/status");
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>True when the system's <c>env</c> knows <c>--default-signal</c> (coreutils 8.31 and later; busybox does not).</summary>
    private static bool EnvResets()
    {
        try
        {
            using var env = Process.Start(new ProcessStartInfo("env") { ArgumentList = { "--default-signal", "true" }, UseShellExecute = false, RedirectStandardError = true });
            if (env is null || !env.WaitForExit(5000))
            {
                return false;
            }
            return env.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
