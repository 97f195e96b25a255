namespace FlowFleet.Fleet.Registry;

/// <summary>
/// Enrollment tokens: a device that presents one in its URL (or as its MQTT password) is admitted without waiting, and the
/// token is bound to it (<see cref="EnrollmentTokenStore.HashToken"/>). Not the users' API tokens (the server's <c>Auth</c>).
/// </summary>
public interface IEnrollmentTokenStore
{
    Task<EnrollmentTokenRecord> CreateTokenAsync(string? name, CancellationToken ct = default);

    /// <summary>All tokens, oldest first, revoked ones included.</summary>
    Task<IReadOnlyList<EnrollmentTokenRecord>> TokensAsync(CancellationToken ct = default);

    /// <summary>False when there is no such token.</summary>
    Task<bool> RevokeTokenAsync(string token, CancellationToken ct = default);

    /// <summary>True when the token exists and is not revoked (an MQTT client signing in with it; no use is counted).</summary>
    Task<bool> IsTokenValidAsync(string token, CancellationToken ct = default);

    /// <summary>True (and counts a use) when the token exists and is not revoked.</summary>
    Task<bool> UseTokenAsync(string token, CancellationToken ct = default);
}
