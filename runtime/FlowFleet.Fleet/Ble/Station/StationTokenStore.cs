using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FlowFleet.Fleet.Ble.Station;

/// <summary>A BLE station token as listed: the secret itself is shown once, at creation, and stored only as a SHA-256.</summary>
public sealed record StationToken(string Id, string Name, DateTimeOffset CreatedAt, bool Revoked, DateTimeOffset? LastUsed, int Uses);

/// <summary>
/// Tokens BLE stations authenticate with on <c>/ble</c>: created, listed and revoked like enrollment tokens, kept in a small
/// JSON file beside the fleet database (hashes only).
/// </summary>
public sealed class StationTokenStore(string path)
{
    private readonly Lock _gate = new();

    /// <summary>Raised with the token id when a token is revoked (its connected stations are closed).</summary>
    public event Action<string>? Revoked;

    public (StationToken Token, string Secret) Create(string? name)
    {
        var secret = "bst_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var record = new Stored
        {
            Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), Name = string.IsNullOrWhiteSpace(name) ? "station" : name.Trim(),
            Hash = Hash(secret), CreatedAt = DateTimeOffset.UtcNow,
        };
        lock (_gate)
        {
            var all = Load();
            all.Add(record);
            Save(all);
        }
        return (record.ToToken(), secret);
    }

    public IReadOnlyList<StationToken> List()
    {
        lock (_gate)
        {
            return [.. Load().Select(s => s.ToToken())];
        }
    }

    public bool Revoke(string id)
    {
        lock (_gate)
        {
            var all = Load();
            var t = all.FirstOrDefault(s => s.Id == id);
            if (t is null)
            {
                return false;
            }
            t.Revoked = true;
            Save(all);
        }
        Revoked?.Invoke(id);
        return true;
    }

    /// <summary>The token a secret belongs to when it is valid (not revoked); counts a use.</summary>
    public StationToken? Validate(string? secret)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 200)
        {
            return null;
        }
        var hash = Encoding.ASCII.GetBytes(Hash(secret));
        lock (_gate)
        {
            var all = Load();
            var t = all.FirstOrDefault(s => !s.Revoked && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s.Hash), hash));
            if (t is null)
            {
                return null;
            }
            t.Uses++;
            t.LastUsed = DateTimeOffset.UtcNow;
            Save(all);
            return t.ToToken();
        }
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private List<Stored> Load()
    {
        if (!File.Exists(path))
        {
            return [];
        }
        try
        {
            return JsonSerializer.Deserialize<List<Stored>>(File.ReadAllText(path)) ?? [];
        }
        catch (JsonException)
        {
            // A damaged file admits no station rather than taking the server down; creating a token rewrites it.
            return [];
        }
    }

    private void Save(List<Stored> all)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(all, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, path, overwrite: true);
    }

    private sealed class Stored
    {
        public string Id { get; set; } = "";

        public string Name { get; set; } = "";

        public string Hash { get; set; } = "";

        public DateTimeOffset CreatedAt { get; set; }

        public bool Revoked { get; set; }

        public DateTimeOffset? LastUsed { get; set; }

        public int Uses { get; set; }

        public StationToken ToToken() => new(Id, Name, CreatedAt, Revoked, LastUsed, Uses);
    }
}
