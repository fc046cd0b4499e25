using Engine.Interop;

namespace Engine.Import;

/// <summary>
/// K-way merge of sorted runs into one sorted stream without duplicate keys. Runs are given oldest
/// first; for a key present in several runs the newest run's entry wins (the later input entry).
/// </summary>
internal sealed class MergeCursor : IRunCursor
{
    private readonly IRunCursor[] _inputs;
    private readonly PriorityQueue<int, int> _heap;
    private bool _started;
    private int _current = -1;

    /// <param name="inputs">Sorted, duplicate-free cursors, oldest first.</param>
    public MergeCursor(IReadOnlyList<IRunCursor> inputs)
    {
        _inputs = [.. inputs];
        _heap = new PriorityQueue<int, int>(_inputs.Length, new InputOrder(_inputs));
    }

    public ReadOnlySpan<byte> Key => _inputs[_current].Key;

    public ReadOnlySpan<byte> Value => _inputs[_current].Value;

    public bool MoveNext(EncryptedEnvHandle env)
    {
        if (!_started)
        {
            _started = true;
            for (int i = 0; i < _inputs.Length; i++)
            {
                Advance(i, env);
            }
        }
        else if (_current >= 0)
        {
            // The winner of the previous step stays put until now: its key was needed to skip duplicates.
            Advance(_current, env);
        }
        if (!_heap.TryDequeue(out int winner, out _))
        {
            _current = -1;
            return false;
        }
        ReadOnlySpan<byte> key = _inputs[winner].Key;
        while (_heap.TryPeek(out int other, out _) && _inputs[other].Key.SequenceEqual(key))
        {
            _heap.Dequeue();
            Advance(other, env); // an older duplicate of the winner's key: dropped
        }
        _current = winner;
        return true;
    }

    private void Advance(int input, EncryptedEnvHandle env)
    {
        if (_inputs[input].MoveNext(env))
        {
            _heap.Enqueue(input, input);
        }
    }

    /// <summary>Orders inputs by their current key, then newest input first.</summary>
    private sealed class InputOrder(IRunCursor[] inputs) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            int c = inputs[x].Key.SequenceCompareTo(inputs[y].Key);
            return c != 0 ? c : y.CompareTo(x);
        }
    }
}
