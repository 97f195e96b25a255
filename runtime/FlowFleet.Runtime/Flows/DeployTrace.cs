using System.Diagnostics;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// Marks along a deploy's path on stderr (<c>FLOWFLEET_DEPLOY_TRACE=1</c>): a monotonic time in ms (the clock of Python's
/// <c>time.monotonic()</c>, so a client's own marks line up with the server's), the thread, the collections so far per
/// generation and the bytes the thread has allocated. Off, a mark is one static read. See bench/README.md, issue 19, deploy.
/// </summary>
public static class DeployTrace
{
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("FLOWFLEET_DEPLOY_TRACE") == "1";

    public static void Mark(string phase)
    {
        if (Enabled)
        {
            Write(phase);
        }
    }

    private static void Write(string phase)
    {
        var ms = Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency;
        Console.Error.WriteLine(
            $"deploy-trace {ms:F3} t{Environment.CurrentManagedThreadId} gc {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} alloc {GC.GetAllocatedBytesForCurrentThread() / 1024} KB {phase}");
    }
}
