namespace FlowFleet.Runtime.Flows;

/// <summary>A line of a text diff: <c>' '</c> kept, <c>'-'</c> only in the old text, <c>'+'</c> only in the new.</summary>
public readonly record struct DiffLine(char Op, string Text);

/// <summary>Line diff of two texts (longest common subsequence), for function code and other multi-line properties.</summary>
public static class LineDiff
{
    /// <summary>Above this many line pairs the common prefix and suffix are kept and the middle shown as replaced: costs stay bounded.</summary>
    private const long MaxCells = 4_000_000;

    public static IReadOnlyList<DiffLine> Compute(string? from, string? to)
    {
        var a = Split(from);
        var b = Split(to);
        var result = new List<DiffLine>();
        var start = 0;
        while (start < a.Length && start < b.Length && a[start] == b[start])
        {
            result.Add(new DiffLine(' ', a[start++]));
        }
        var endA = a.Length;
        var endB = b.Length;
        var suffix = new List<DiffLine>();
        while (endA > start && endB > start && a[endA - 1] == b[endB - 1])
        {
            suffix.Add(new DiffLine(' ', a[--endA]));
            endB--;
        }
        var n = endA - start;
        var m = endB - start;
        if ((long)n * m > MaxCells)
        {
            result.AddRange(a[start..endA].Select(l => new DiffLine('-', l)));
            result.AddRange(b[start..endB].Select(l => new DiffLine('+', l)));
        }
        else
        {
            // lcs[i, j]: length of the common subsequence of a[start+i..endA] and b[start+j..endB].
            var lcs = new int[n + 1, m + 1];
            for (var i = n - 1; i >= 0; i--)
            {
                for (var j = m - 1; j >= 0; j--)
                {
                    lcs[i, j] = a[start + i] == b[start + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
                }
            }
            int x = 0, y = 0;
            while (x < n || y < m)
            {
                if (x < n && y < m && a[start + x] == b[start + y])
                {
                    result.Add(new DiffLine(' ', a[start + x]));
                    x++;
                    y++;
                }
                else if (x < n && (y == m || lcs[x + 1, y] >= lcs[x, y + 1]))
                {
                    // Removals before additions, as unified diffs show them.
                    result.Add(new DiffLine('-', a[start + x++]));
                }
                else
                {
                    result.Add(new DiffLine('+', b[start + y++]));
                }
            }
        }
        suffix.Reverse();
        result.AddRange(suffix);
        return result;
    }

    private static string[] Split(string? text) => string.IsNullOrEmpty(text) ? [] : text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
}
