using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowFleet.Server.Tests.Ops;

/// <summary>One <c>/metrics</c> response, parsed the way Prometheus reads it: samples by name and labels, types by name.</summary>
internal sealed partial class Scrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    private Scrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                _types[parts[2]] = parts[3];
                continue;
            }
            if (line.StartsWith('#'))
            {
                continue;
            }
            var m = SampleLine().Match(line);
            Assert.True(m.Success, "not a Prometheus sample line: " + line);
            var labels = LabelPair().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value, StringComparer.Ordinal);
            _samples.Add((m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
    }

    public string Text { get; }

    public static async Task<Scrape> GetAsync(HttpClient client) => new(await client.GetStringAsync("/metrics"));

    public string? TypeOf(string name) => _types.GetValueOrDefault(name);

    /// <summary>The sample of <paramref name="name"/> carrying all of <paramref name="labels"/> (<c>"type=debug"</c>); 0 when the
    /// series does not exist yet, as Prometheus treats a counter that has not started.</summary>
    public double Value(string name, params string[] labels)
    {
        var wanted = labels.Select(l => l.Split('=', 2)).ToList();
        var matches = _samples.Where(s => s.Name == name && wanted.All(w => s.Labels.GetValueOrDefault(w[0]) == w[1])).ToList();
        Assert.True(matches.Count <= 1, $"{matches.Count} series of {name} match [{string.Join(",", labels)}]");
        return matches.Count == 0 ? 0 : matches[0].Value;
    }

    public bool Has(string name) => _samples.Any(s => s.Name == name);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
