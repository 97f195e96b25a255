namespace FlowFleet.Server.Hosting;

/// <summary>
/// The one record of memory trims in this process, shared by the trimmers (<see cref="DeployTrimmer"/>,
/// <see cref="IdleTrimmer"/>, <see cref="MemoryTrimmer"/>), so they don't trim twice for the same garbage: the idle trimmer
/// counts its burst from the last trim by any of them, leaves a large deploy to the deploy trimmer while that one waits for
/// its quiet time, and does not trim when another trim ran since it looked. Before, deploy.sh's ten deploys could be
/// followed by an idle trim a second later and the deploy trim two seconds after that: two aggressive collections.
/// </summary>
public sealed class TrimLedger
{
    private readonly Lock _gate = new();
    private long _trims;
    private int _deployTrimPending;

    /// <summary>Trims done by any trimmer since the process started.</summary>
    public long Trims => Interlocked.Read(ref _trims);

    /// <summary>True while the deploy trimmer waits to trim after a large deploy.</summary>
    public bool DeployTrimPending
    {
        get => Volatile.Read(ref _deployTrimPending) != 0;
        internal set => Volatile.Write(ref _deployTrimPending, value ? 1 : 0);
    }

    /// <summary>Trims now (see <see cref="MemoryTrimmer.GiveBack"/>) and records it.</summary>
    public (long Before, long After, long RssBefore, long RssAfter) GiveBack()
    {
        lock (_gate)
        {
            return Record();
        }
    }

    /// <summary>Trims unless a trim was recorded after <paramref name="seen"/> (a <see cref="Trims"/> read earlier); null when it did not.</summary>
    public (long Before, long After, long RssBefore, long RssAfter)? GiveBackUnlessTrimmedSince(long seen)
    {
        lock (_gate)
        {
            return Trims == seen ? Record() : null;
        }
    }

    private (long Before, long After, long RssBefore, long RssAfter) Record()
    {
        var result = MemoryTrimmer.GiveBack();
        Interlocked.Increment(ref _trims);
        return result;
    }
}
