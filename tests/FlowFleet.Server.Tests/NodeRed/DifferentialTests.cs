using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace FlowFleet.Server.Tests.NodeRed;

[CollectionDefinition(Name)]
public sealed class NodeRedCollection : ICollectionFixture<DifferentialFixture>
{
    public const string Name = "Node-RED side by side";
}

/// <summary>
/// The same flows on Node-RED 4 and FlowFleet must show the same debug messages. Cases live in
/// <c>NodeRedCases/*.json</c> (see <see cref="DiffCase"/>); adding one is adding data.
/// </summary>
[Collection(NodeRedCollection.Name)]
public sealed class DifferentialTests(DifferentialFixture fixture, ITestOutputHelper output)
{
    public static TheoryData<string> Cases => [.. DiffCase.LoadAll().Select(c => c.Key)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Shows_the_same_debug_messages_as_Node_RED(string key)
    {
        if (fixture.SkipReason is not null)
        {
            output.WriteLine("skipped: " + fixture.SkipReason);
            return;
        }
        var c = fixture.Cases.Single(x => x.Key == key);
        var diff = fixture.Difference(c);
        if (c.Known is { } known)
        {
            // A listed difference must still be one, so the list in bench/README.md stays true.
            Assert.True(diff is not null || c.Source["knownMayMatch"]?.GetValue<bool>() == true,
                $"'{key}' now matches Node-RED: remove its \"known\" note ({known})");
            output.WriteLine("known difference: " + known + "\n" + diff);
            return;
        }
        Assert.True(diff is null, diff);
    }

    [Fact]
    public void Every_difference_is_a_listed_one_and_rates_per_node_type_are_reported()
    {
        if (fixture.SkipReason is not null)
        {
            output.WriteLine("skipped: " + fixture.SkipReason);
            return;
        }
        var report = new StringBuilder("| node type | cases | match | rate |\n| --- | --- | --- | --- |\n");
        var failing = new StringBuilder();
        var details = new StringBuilder();
        var unexplained = new List<string>();
        foreach (var group in fixture.Cases.GroupBy(c => c.NodeType).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var total = group.Count();
            var ok = 0;
            foreach (var c in group)
            {
                if (fixture.Difference(c) is not { } diff)
                {
                    ok++;
                }
                else
                {
                    details.Append(CultureInfo.InvariantCulture, $"## {c.Key}\n{diff}\n\n");
                    failing.Append(CultureInfo.InvariantCulture, $"- {c.Key}: {c.Known ?? "unexplained difference"}\n");
                    if (c.Known is null)
                    {
                        unexplained.Add(c.Key);
                    }
                }
            }
            var rate = 100.0 * ok / total;
            report.Append(CultureInfo.InvariantCulture, $"| {group.Key} | {total} | {ok} | {rate:0.#}% |\n");
        }
        var text = report + "\nFailing cases:\n" + (failing.Length == 0 ? "- none\n" : failing.ToString());
        output.WriteLine(text);
        if (Environment.GetEnvironmentVariable("FLOWFLEET_DIFF_REPORT") is { Length: > 0 } file)
        {
            File.WriteAllText(file, text);
            File.WriteAllText(file + ".details", details.ToString());
        }
        Assert.True(unexplained.Count == 0, "differences not listed as known: " + string.Join(", ", unexplained) + "\n" + text);
    }
}
