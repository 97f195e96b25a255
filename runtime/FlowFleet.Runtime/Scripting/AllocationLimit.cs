using Jint;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// Stops a script that allocates more than its budget during one run. Checked every few statements (amortized), which
/// keeps Jint's fast loop paths on: Jint's own memory constraint must be checked before every statement and turns them
/// off. Detection comes at most one check interval late; a single statement can overshoot either way.
/// </summary>
internal sealed class AllocationLimit(long limitBytes) : Constraint
{
    private long _start;

    public override bool IsAmortizable => true;

    public override void Check()
    {
        var used = GC.GetAllocatedBytesForCurrentThread() - _start;
        if (used > limitBytes)
        {
            throw new ScriptException($"Script exceeded the memory limit: allocated {used / (1024 * 1024)} MiB, limit {limitBytes / (1024 * 1024)} MiB");
        }
    }

    public override void Reset() => _start = GC.GetAllocatedBytesForCurrentThread();
}
