using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Phase lines for profiling the start (<c>FLOWFLEET_START_TRACE=1</c>; <c>=2</c> also lists the assemblies loaded by the
/// first answer): time since the process was created, CPU used, methods the JIT compiled and assemblies loaded, per phase.
/// Off, a mark is one static read. See bench/README.md, issue 19, start-up.
/// </summary>
public static partial class StartTrace
{
    private static readonly int Level = int.TryParse(Environment.GetEnvironmentVariable("FLOWFLEET_START_TRACE"), out var l) ? l : 0;
    private static int _firstRequest;

    public static bool Enabled => Level > 0;

    public static void Mark(string phase)
    {
        if (Level > 0)
        {
            Write(phase);
        }
    }

    /// <summary>Marks the first request's answer (once) and, at level 2, lists the assemblies loaded by then.</summary>
    public static void FirstAnswer(string path)
    {
        if (Level > 0 && Interlocked.Exchange(ref _firstRequest, 1) == 0)
        {
            Write("first answer " + path);
            if (Level > 1)
            {
                foreach (var a in AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).Order(StringComparer.Ordinal))
                {
                    Console.Error.WriteLine("start-trace assembly " + a);
                }
            }
        }
    }

    /// <summary>Wraps every hosted service so that its start is marked (trace on only).</summary>
    public static void WrapHostedServices(IServiceCollection services)
    {
        for (var i = 0; i < services.Count; i++)
        {
            var d = services[i];
            if (d.ServiceType == typeof(IHostedService) && !d.IsKeyedService)
            {
                services[i] = ServiceDescriptor.Singleton<IHostedService>(sp => new Traced(DecoratedService.Create<IHostedService>(sp, d)));
            }
        }
    }

    private sealed class Traced(IHostedService inner) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            Mark("start " + inner.GetType().Name);
            await inner.StartAsync(cancellationToken);
            Mark("started " + inner.GetType().Name);
        }

        public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Write(string phase)
    {
        using var self = Process.GetCurrentProcess();
        var since = DateTime.Now - self.StartTime;
        Console.Error.WriteLine(
            $"start-trace {since.TotalMilliseconds,6:F0} ms  cpu {self.TotalProcessorTime.TotalMilliseconds,5:F0} ms  jit {System.Runtime.JitInfo.GetCompiledMethodCount(),5} ({System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds,4:F0} ms)  asm {AppDomain.CurrentDomain.GetAssemblies().Length,3}  gc {GC.CollectionCount(0)}  t{Environment.CurrentManagedThreadId,-3} (thread cpu {ThreadCpuMs(),4:F0} ms) {phase}");
    }

    private static double ThreadCpuMs() =>
        OperatingSystem.IsLinux() && ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var t) == 0 ? t.Seconds * 1e3 + t.Nanoseconds / 1e6 : double.NaN;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
