using FlowFleet.Server.Auth;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>Users and sessions on a data directory's SQLite file, as the server registers them, for the user-store tests.</summary>
internal static class UserServices
{
    public static ServiceProvider Build(string dataDirectory, TimeProvider time)
    {
        var services = new ServiceCollection();
        services.AddServerDatabase(dataDirectory);
        services.AddSingleton<UserService>();
        services.AddSingleton(time);
        services.AddSingleton<TokenService>();
        return services.BuildServiceProvider();
    }
}

/// <summary>A temporary data directory for SQLite files: removed once the pooled connections holding them are closed.</summary>
internal sealed class SqliteTempDirectory(string prefix) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory(prefix);

    public string FullName => _dir.FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }
}
