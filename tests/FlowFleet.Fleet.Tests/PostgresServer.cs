using System.Diagnostics;
using Npgsql;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// A throwaway PostgreSQL for tests: Debian's <c>initdb</c>/<c>pg_ctl</c> (package <c>postgresql</c>, installed by
/// <c>./test.sh</c>) in a temporary directory, listening on a free loopback port, started once per test run and stopped
/// when the test process exits. Each test gets its own database.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> s_shared = new(StartAsync);

    private readonly string _bin;
    private readonly string _data;

    private PostgresServer(string bin, string data, int port)
    {
        _bin = bin;
        _data = data;
        Port = port;
    }

    public int Port { get; }

    public static Task<PostgresServer> SharedAsync() => s_shared.Value;

    /// <summary>The fleet database's providers, for tests that run on both: SQLite (the default) and PostgreSQL.</summary>
    public static TheoryData<string> Providers => ["sqlite", "postgres"];

    /// <summary>The <c>postgres:</c> argument of <see cref="FleetHost.StartAsync"/> for <paramref name="provider"/>: a new database, or null for SQLite.</summary>
    public static async Task<string?> DatabaseAsync(string provider) =>
        provider == "postgres" ? await (await SharedAsync()).CreateDatabaseAsync() : null;

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..16];
        await using (var admin = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        return ConnectionString(name);
    }

    private string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true";

    private static async Task<PostgresServer> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): run ./test.sh, which installs Debian's postgresql");
        }
        var root = Directory.CreateTempSubdirectory("flowfleet-pg-").FullName;
        var data = Path.Combine(root, "data");
        // initdb refuses to run as root: as root, the cluster belongs to the postgres user the package created.
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", root]);
        }
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], asRoot);
        var port = Loopback.FreePort();
        await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(root, "log"), "-w", "-o",
            $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start"], asRoot);
        var server = new PostgresServer(bin, data, port);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop(asRoot);
        // The test runner may kill its host without ProcessExit: a watchdog stops the server once this process is gone.
        var watchdog = $"while [ -d /proc/{Environment.ProcessId} ]; do sleep 1; done; '{Path.Combine(bin, "pg_ctl")}' -D '{data}' -m immediate stop; rm -rf '{root}'";
        using var _ = Start("setsid", asRoot ? ["runuser", "-u", "postgres", "--", "sh", "-c", watchdog] : ["sh", "-c", watchdog]);
        return server;
    }

    private void Stop(bool asRoot)
    {
        using var stop = Start(Path.Combine(_bin, "pg_ctl"), ["-D", _data, "-m", "immediate", "-w", "stop"], asRoot);
        stop.WaitForExit(10_000);
        try
        {
            Directory.Delete(Path.GetDirectoryName(_data)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Process Start(string file, IEnumerable<string> args, bool asPostgres = false)
    {
        var info = new ProcessStartInfo(asPostgres ? "runuser" : file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file })
            {
                info.ArgumentList.Add(a);
            }
        }
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return Process.Start(info)!;
    }

    private static async Task RunAsync(string file, IEnumerable<string> args, bool asPostgres = false)
    {
        using var p = Start(file, args, asPostgres);
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} failed ({p.ExitCode}): {await output}{await error}");
        }
    }
}
