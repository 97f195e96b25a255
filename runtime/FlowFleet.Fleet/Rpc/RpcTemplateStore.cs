using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Rpc;

/// <summary>A saved Mass RPC call: a name, a method and its params (JSON text, may be empty).</summary>
public sealed record RpcTemplate(string Name, string Method, string Params);

/// <summary>Mass RPC templates kept in <c>rpc-templates.json</c> beside the fleet database (written atomically).</summary>
public sealed class RpcTemplateStore(string path)
{
    public static readonly IReadOnlyList<RpcTemplate> BuiltIn =
    [
        new("device info", "Shelly.GetDeviceInfo", ""), new("switch on", "Switch.Set", """{"id":0,"on":true}"""),
        new("switch off", "Switch.Set", """{"id":0,"on":false}"""), new("check for update", "Shelly.CheckForUpdate", ""),
        new("reboot", "Shelly.Reboot", """{"delay_ms":1000}"""),
    ];

    private readonly Lock _gate = new();

    /// <summary>Built-in templates followed by the saved ones.</summary>
    public IReadOnlyList<RpcTemplate> All()
    {
        lock (_gate)
        {
            return [.. BuiltIn, .. Saved()];
        }
    }

    public void Save(RpcTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        lock (_gate)
        {
            var saved = Saved().Where(t => t.Name != template.Name).Append(template).ToList();
            var json = new JsonArray(saved.Select(t => (JsonNode?)new JsonObject { ["name"] = t.Name, ["method"] = t.Method, ["params"] = t.Params }).ToArray());
            var temp = path + ".tmp";
            File.WriteAllText(temp, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.Move(temp, path, overwrite: true);
        }
    }

    private List<RpcTemplate> Saved()
    {
        if (!File.Exists(path))
        {
            return [];
        }
        try
        {
            return (JsonNode.Parse(File.ReadAllText(path)) as JsonArray ?? []).OfType<JsonObject>()
                .Select(o => new RpcTemplate(o["name"]?.GetValue<string>() ?? "", o["method"]?.GetValue<string>() ?? "", o["params"]?.GetValue<string>() ?? ""))
                .Where(t => t.Name.Length > 0 && t.Method.Length > 0).ToList();
        }
        catch (JsonException)
        {
            // A damaged file is left as it is (not overwritten until the next save) and the built-ins still work.
            return [];
        }
    }
}
