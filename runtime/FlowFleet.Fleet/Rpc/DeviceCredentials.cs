namespace FlowFleet.Fleet.Rpc;

/// <summary>
/// Passwords for devices whose authentication is enabled: they answer a request with 401 and a digest challenge, which
/// the hub answers (<c>auth</c> object, one retry) with the password found here. Passwords are kept encrypted: the
/// registry stores a device's password protected by <see cref="Protect"/>, and a fleet-wide password covers the rest.
/// </summary>
public interface IDeviceCredentials
{
    /// <summary>The password for a device (its own, else the fleet-wide one), or null when none is known.</summary>
    string? PasswordFor(string deviceId, string? stored);

    /// <summary>Turns a password into what the registry stores.</summary>
    string Protect(string password);
}

/// <summary>The default without a key store (tests, the library alone): no fleet-wide password, stored passwords as given.</summary>
public sealed class PlainDeviceCredentials : IDeviceCredentials
{
    public string? PasswordFor(string deviceId, string? stored) => stored;

    public string Protect(string password) => password;
}
