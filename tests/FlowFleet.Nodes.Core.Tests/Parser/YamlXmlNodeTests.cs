namespace FlowFleet.Nodes.Core.Tests.Parser;

/// <summary>Cases from Node-RED's <c>70-YAML_spec.js</c>, kept in <c>Cases/yaml.json</c>.</summary>
public sealed class YamlNodeTests
{
    public static IEnumerable<object[]> Cases => SpecCases.Names("yaml.json");

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Behaves_as_node_red(string name) => SpecCases.RunAsync("yaml.json", name);
}

/// <summary>Cases from Node-RED's <c>70-XML_spec.js</c> and xml2js's conventions, kept in <c>Cases/xml.json</c>.</summary>
public sealed class XmlNodeTests
{
    public static IEnumerable<object[]> Cases => SpecCases.Names("xml.json");

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Behaves_as_node_red(string name) => SpecCases.RunAsync("xml.json", name);
}
