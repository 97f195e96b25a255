namespace FlowFleet.Nodes.Core.Tests.Parser;

/// <summary>Cases from Node-RED's <c>test/nodes/core/parsers/70-CSV_spec.js</c> (legacy and RFC 4180 mode), kept in <c>Cases/csv.json</c>.</summary>
public sealed class CsvNodeTests
{
    public static IEnumerable<object[]> Cases => SpecCases.Names("csv.json");

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Behaves_as_node_red(string name) => SpecCases.RunAsync("csv.json", name);
}
