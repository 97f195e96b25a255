using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>
/// Where and how the fleet CLI talks to a server: from <c>--settings file.yml</c> (<c>server</c>, <c>token</c>,
/// <c>select</c>, <c>timeout</c>, <c>parallel</c>, <c>json</c>), then <c>FLOWFLEET_SERVER</c>/<c>FLOWFLEET_TOKEN</c>,
/// then the command line, each overriding the one before.
/// </summary>
public sealed class FleetCliSettings
{
    public string Server { get; set; } = "http://127.0.0.1:7011";

    public string? Token { get; set; }

    /// <summary>The selection a session starts with (a device, <c>group:NAME</c>, a filter); none means all devices.</summary>
    public string? Select { get; set; }

    /// <summary>Seconds a device may take to answer one call.</summary>
    public double Timeout { get; set; } = 10;

    /// <summary>Calls in flight at once for a selection.</summary>
    public int Parallel { get; set; } = 16;

    public bool Json { get; set; }

    public static FleetCliSettings Load(string? file, string? server, string? token, bool? json)
    {
        var settings = new FleetCliSettings();
        if (file is not null)
        {
            if (!File.Exists(file))
            {
                throw new FleetCliException($"Settings file {file} does not exist", 2);
            }
            try
            {
                var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
                settings = deserializer.Deserialize<FleetCliSettings?>(File.ReadAllText(file)) ?? new FleetCliSettings();
            }
            catch (YamlException ex)
            {
                throw new FleetCliException($"Settings file {file} is not valid: {ex.Message} (keys: server, token, select, timeout, parallel, json)", 2);
            }
        }
        var envServer = Environment.GetEnvironmentVariable("FLOWFLEET_SERVER");
        settings.Server = server ?? (file is null && envServer is { Length: > 0 } ? envServer : settings.Server);
        settings.Token = token ?? (settings.Token is { Length: > 0 } ? settings.Token : Environment.GetEnvironmentVariable("FLOWFLEET_TOKEN"));
        settings.Json = json ?? settings.Json;
        if (settings.Timeout <= 0 || settings.Parallel <= 0)
        {
            throw new FleetCliException("timeout and parallel must be positive", 2);
        }
        return settings;
    }

    /// <summary>Writes a settings file (after <c>login --save</c>).</summary>
    public void Save(string file)
    {
        var serializer = new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull).Build();
        File.WriteAllText(file, serializer.Serialize(this));
    }
}
