using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>What the cluster process tests ask a FlowFleet instance (or a load balancer in front of them) over REST.</summary>
internal static class ClusterChecks
{
    /// <summary>Whether <paramref name="client"/>'s server lists every one of <paramref name="ids"/> online.</summary>
    public static async Task<bool> OnlineAsync(HttpClient client, string[] ids)
    {
        try
        {
            var list = await client.GetFromJsonAsync<JsonObject>("/api/devices?limit=100");
            var online = list!["items"]!.AsArray().Where(d => d!["online"]?.GetValue<bool>() == true).Select(d => (string)d!["id"]!).ToHashSet();
            return ids.All(online.Contains);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Whether device <paramref name="id"/> answers an RPC sent through <paramref name="client"/>'s REST API.</summary>
    public static async Task<bool> AnswersAsync(HttpClient client, string id)
    {
        try
        {
            using var response = await client.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "Shelly.GetDeviceInfo" });
            return response.IsSuccessStatusCode && (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"] == id;
        }
        catch (HttpRequestException)
        {
            // Through a load balancer, a connection to an instance that just died ends without an answer.
            return false;
        }
    }
}
