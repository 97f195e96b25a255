using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Storage;

/// <summary>Flows in a JSON file, written to a temp file and renamed over the old one, which becomes <c>.backup</c>.</summary>
public sealed class FileFlowStorage(string path) : IFlowStorage
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public async Task<JsonArray?> LoadAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path))
        {
            return null;
        }
        var text = await File.ReadAllTextAsync(Path, cancellationToken);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        try
        {
            return JsonNode.Parse(text) as JsonArray ?? throw new InvalidDataException($"{Path} does not hold a JSON array");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{Path} is not valid JSON: {ex.Message}", ex);
        }
    }

    public async Task SaveAsync(JsonArray flows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flows);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            var tmp = Path + ".tmp";
            await File.WriteAllTextAsync(tmp, flows.ToJsonString(s_indented), new UTF8Encoding(false), cancellationToken);
            if (File.Exists(Path))
            {
                File.Copy(Path, Path + ".backup", overwrite: true);
            }
            File.Move(tmp, Path, overwrite: true);
        }
        finally
        {
            _lock.Release();
        }
    }
}
