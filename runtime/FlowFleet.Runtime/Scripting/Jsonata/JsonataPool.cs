using System.Collections.Concurrent;

namespace FlowFleet.Runtime.Scripting.Jsonata;

/// <summary>
/// The process's JSONata engines: at most one per core, created on first use, each lent to one caller at a time. An
/// engine holds the library (about 1 MiB), so nodes share engines instead of owning one each; a compiled expression
/// is kept per engine by its <see cref="JsonataExpression"/>, so each expression is compiled at most once per engine.
/// </summary>
internal sealed class JsonataPool
{
    private readonly ConcurrentBag<JsonataEngine> _free = [];
    private readonly SemaphoreSlim _slots;
    private readonly ScriptLimits _limits;
    private int _created;

    public JsonataPool(int size, ScriptLimits limits)
    {
        Size = size;
        _limits = limits;
        _slots = new SemaphoreSlim(size, size);
    }

    /// <summary>Shared by every node: the function node's default limits (time, memory), one engine per core.</summary>
    public static JsonataPool Shared { get; } = new(Math.Clamp(Environment.ProcessorCount, 2, 16), new ScriptLimits());

    public int Size { get; }

    /// <summary>Runs <paramref name="work"/> with an engine of its own (waits while all are busy).</summary>
    public T Use<T>(Func<JsonataEngine, T> work)
    {
        _slots.Wait();
        JsonataEngine? engine = null;
        try
        {
            // ConcurrentBag prefers what this thread returned last: the engine that has this thread's expressions compiled.
            if (!_free.TryTake(out engine))
            {
                engine = new JsonataEngine(Interlocked.Increment(ref _created) - 1, _limits);
            }
            return work(engine);
        }
        finally
        {
            if (engine is not null)
            {
                engine.Current = null;
                _free.Add(engine);
            }
            _slots.Release();
        }
    }
}
