using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// The Data Protection key ring in PostgreSQL (table <c>ff_keys</c>) instead of <c>data/keys</c>: every instance of a
/// cluster protects and reads with the same keys — flow credentials, and login cookies behind a load balancer.
/// Data Protection calls a repository synchronously.
/// </summary>
public sealed class PostgresKeyRing(ClusterStore store) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = store.OpenAsync().GetAwaiter().GetResult();
        using var cmd = ClusterStore.Command(connection, "SELECT xml FROM ff_keys ORDER BY name");
        using var reader = cmd.ExecuteReader();
        var list = new List<XElement>();
        while (reader.Read())
        {
            list.Add(XElement.Parse(reader.GetString(0)));
        }
        return list;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        using var connection = store.OpenAsync().GetAwaiter().GetResult();
        using var cmd = ClusterStore.Command(connection, "INSERT INTO ff_keys (name, xml) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET xml = EXCLUDED.xml",
            string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName, element.ToString(SaveOptions.DisableFormatting));
        cmd.ExecuteNonQuery();
    }
}
