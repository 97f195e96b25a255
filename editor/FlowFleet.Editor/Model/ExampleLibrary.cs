namespace FlowFleet.Editor.Model;

/// <summary>An example flow file: its section (FlowFleet's own <c>flows/</c>, or a plugin's name) and title (the file name).</summary>
public sealed record ExampleFlow(string Section, string Name, string Path);

/// <summary>
/// The example flows the import dialog offers, like Node-RED's Import → Examples: every <c>*.json</c> in FlowFleet's
/// <c>flows/</c> folder and in each plugin's <c>examples/</c> folder. Files are read when chosen, never cached.
/// </summary>
public sealed class ExampleLibrary(string? flowsDirectory, string? pluginsDirectory)
{
    private const long MaxBytes = 16 * 1024 * 1024;

    public IReadOnlyList<ExampleFlow> List()
    {
        var list = new List<ExampleFlow>();
        Add(list, "FlowFleet", flowsDirectory);
        if (pluginsDirectory is not null && Directory.Exists(pluginsDirectory))
        {
            foreach (var plugin in Directory.GetDirectories(pluginsDirectory).Order(StringComparer.Ordinal))
            {
                Add(list, System.IO.Path.GetFileName(plugin), System.IO.Path.Combine(plugin, "examples"));
            }
        }
        return list;
    }

    private static void Add(List<ExampleFlow> list, string section, string? directory)
    {
        if (directory is null || !Directory.Exists(directory))
        {
            return;
        }
        foreach (var file in Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            list.Add(new ExampleFlow(section, System.IO.Path.GetFileNameWithoutExtension(file), file));
        }
    }

    /// <summary>The text of a listed example (only listed files can be read).</summary>
    public string Read(ExampleFlow example)
    {
        if (!List().Contains(example))
        {
            throw new FileNotFoundException("Not an example flow", example.Path);
        }
        var info = new FileInfo(example.Path);
        if (info.Length > MaxBytes)
        {
            throw new InvalidDataException("Example file too large");
        }
        return File.ReadAllText(example.Path);
    }
}

/// <summary>What the import dialog hands back: the objects, whether they go to a new flow, and where they came from (its name).</summary>
public sealed record ImportRequest(System.Text.Json.Nodes.JsonArray Items, bool NewTab, string? Source);
