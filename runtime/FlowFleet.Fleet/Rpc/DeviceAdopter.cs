using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Rpc;

/// <summary>
/// Adopts a device on the LAN: reads its identity over its local <c>/rpc</c> (HTTP digest auth when it has a password), points
/// its outbound websocket at this server with <c>Ws.SetConfig</c>, and reboots it so it connects.
/// </summary>
/// <param name="probeTime">How long finding the device may take; every failure to find one is reported only once it has
/// passed (issue 13: the endpoint must not tell a refused port from an unreachable host or a password-protected service).</param>
public sealed class DeviceAdopter(IDeviceStore devices, HttpClient http, TimeSpan? probeTime = null)
{
    /// <summary>The one answer for every address where no Shelly device could be identified.</summary>
    public const string NotFoundMessage = "No Shelly device answered at that address (or it needs a password: give the device's password)";

    private readonly TimeSpan _probeTime = probeTime ?? TimeSpan.FromSeconds(5);

    /// <summary>Adopts the device at <paramref name="address"/> (<c>192.168.1.20</c>, <c>http://host:port/path</c>); returns its id.</summary>
    public async Task<string> AdoptAsync(string address, string? password, string serverUrl, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        var baseUrl = address.Contains("://", StringComparison.Ordinal) ? address.TrimEnd('/') : "http://" + address.TrimEnd('/');
        var id = await IdentifyAsync(baseUrl, password, ct).ConfigureAwait(false);
        await CallAsync(baseUrl, "Ws.SetConfig", new JsonObject { ["config"] = new JsonObject { ["enable"] = true, ["server"] = serverUrl, ["ssl_ca"] = "*" } }, password, ct).ConfigureAwait(false);
        if (password is not null)
        {
            await devices.SetPasswordAsync(id, password, ct).ConfigureAwait(false);
        }
        await devices.SetAdmissionAsync(id, AdmissionStates.Accepted, ct).ConfigureAwait(false);
        await CallAsync(baseUrl, "Shelly.Reboot", new JsonObject { ["delay_ms"] = 500 }, password, ct).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// The device's id from its <c>Shelly.GetDeviceInfo</c>. Refused, unreachable, timed out, password-protected, wrong
    /// password or not a Shelly: all fail alike with <see cref="NotFoundMessage"/>, after the same <c>probeTime</c>, so adopting
    /// can't be used to map which hosts and ports answer.
    /// </summary>
    private async Task<string> IdentifyAsync(string baseUrl, string? password, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct);
        probe.CancelAfter(_probeTime);
        try
        {
            var info = await CallAsync(baseUrl, "Shelly.GetDeviceInfo", null, password, probe.Token).ConfigureAwait(false);
            if (JsonRead.Text(info.Field("id")) is { Length: > 0 } id)
            {
                return id;
            }
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is ShellyRpcException or OperationCanceledException or HttpRequestException
            or System.Text.Json.JsonException or UriFormatException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
        }
        var left = _probeTime - System.Diagnostics.Stopwatch.GetElapsedTime(started);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, ct).ConfigureAwait(false);
        }
        throw new ShellyRpcException(ShellyRpcException.Unavailable, NotFoundMessage);
    }

    /// <summary>One call to a device's local <c>POST /rpc</c>, answering a digest challenge once.</summary>
    public async Task<JsonNode?> CallAsync(string baseUrl, string method, JsonObject? parameters, string? password, CancellationToken ct)
    {
        var frame = new JsonObject { ["id"] = 1, ["src"] = "flowfleet-adopt", ["method"] = method };
        if (parameters is not null)
        {
            frame["params"] = parameters;
        }
        var uri = new Uri(baseUrl + "/rpc");
        using var first = await PostAsync(uri, frame, null, ct).ConfigureAwait(false);
        var response = first;
        HttpResponseMessage? second = null;
        try
        {
            if (first.StatusCode == HttpStatusCode.Unauthorized)
            {
                if (password is null)
                {
                    throw new ShellyRpcException(ShellyRpcException.Unauthorized, "The device requires a password");
                }
                var challenge = first.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Digest", StringComparison.OrdinalIgnoreCase))?.Parameter
                    ?? throw new ShellyRpcException(ShellyRpcException.Unauthorized, "The device sent no digest challenge");
                second = await PostAsync(uri, frame, DigestAuthorization(challenge, password, uri.AbsolutePath), ct).ConfigureAwait(false);
                response = second;
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    throw new ShellyRpcException(ShellyRpcException.Unauthorized, "Wrong device password");
                }
            }
            if (!response.IsSuccessStatusCode)
            {
                throw new ShellyRpcException((int)response.StatusCode, $"HTTP {(int)response.StatusCode} from {uri}");
            }
            var body = await response.Content.ReadFromJsonAsync<JsonObject>(ct).ConfigureAwait(false);
            return body?["error"] is { } error ? throw ShellyRpcException.FromJson(error) : body?["result"];
        }
        finally
        {
            second?.Dispose();
        }
    }

    private async Task<HttpResponseMessage> PostAsync(Uri uri, JsonObject frame, string? authorization, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(frame.ToJsonString(), Encoding.UTF8, "application/json") };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        try
        {
            return await http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new ShellyRpcException(ShellyRpcException.Unavailable, $"Cannot reach {uri}: {ex.Message}");
        }
    }

    private static string DigestAuthorization(string challenge, string password, string uri)
    {
        var parts = DigestHeader.Parse(challenge);
        var realm = parts.GetValueOrDefault("realm") ?? "";
        var nonce = parts.GetValueOrDefault("nonce") ?? "";
        var cnonce = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var ha1 = ShellyDigest.Ha1(realm, password);
        var response = ShellyDigest.Sha256Hex($"{ha1}:{nonce}:00000001:{cnonce}:auth:{ShellyDigest.Sha256Hex("POST:" + uri)}");
        return $"Digest username=\"{ShellyDigest.User}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"{cnonce}\", response=\"{response}\"";
    }
}
