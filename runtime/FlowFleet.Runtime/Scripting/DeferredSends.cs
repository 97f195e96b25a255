using FlowFleet.Runtime.Messages;
using Jint.Native;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// What <c>node.send(msg, false)</c> queued during a run, in order, in chunks small enough to stay out of the large-object
/// heap. One list grew by doubling to an array of ~4 MB for a burst of 200,000 sends: each doubling past 85 KB was a
/// large-object allocation, whose budget is spent only by full (gen-2) collections — one or two per burst, each marking the
/// whole heap while the burst's messages were alive.
/// </summary>
internal sealed class DeferredSends
{
    // 2,048 entries of 16 bytes: 32 KB per chunk.
    private const int ChunkSize = 2048;

    private readonly Queue<(JsValue Msgs, FlowMessage? Input)[]> _full = new();
    private (JsValue Msgs, FlowMessage? Input)[]? _tail;
    private int _tailCount;

    public bool IsEmpty => _tail is null;

    public void Add(JsValue msgs, FlowMessage? input)
    {
        if (_tail is null || _tailCount == ChunkSize)
        {
            if (_tail is not null)
            {
                _full.Enqueue(_tail);
            }
            _tail = new (JsValue, FlowMessage?)[ChunkSize];
            _tailCount = 0;
        }
        _tail[_tailCount++] = (msgs, input);
    }

    /// <summary>
    /// Takes everything queued so far (the queue is empty after) and hands each entry to <paramref name="send"/> in order,
    /// letting go of each chunk once it is sent.
    /// </summary>
    public void Drain<TState>(TState state, Action<TState, JsValue, FlowMessage?> send)
    {
        var full = _full.ToArray();
        var tail = _tail;
        var tailCount = _tailCount;
        _full.Clear();
        _tail = null;
        _tailCount = 0;
        for (var c = 0; c < full.Length; c++)
        {
            var chunk = full[c];
            full[c] = null!;
            SendAll(chunk, chunk.Length, state, send);
        }
        if (tail is not null)
        {
            SendAll(tail, tailCount, state, send);
        }
    }

    private static void SendAll<TState>((JsValue Msgs, FlowMessage? Input)[] chunk, int count, TState state, Action<TState, JsValue, FlowMessage?> send)
    {
        for (var i = 0; i < count; i++)
        {
            var (msgs, input) = chunk[i];
            // Let go of each script object once it is converted, not all of them after the last.
            chunk[i] = default;
            send(state, msgs, input);
        }
    }
}
