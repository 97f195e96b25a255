using System.Text.Json.Nodes;
using FlowFleet.Fleet.Tests;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Context;
using FlowFleet.Server.Cluster;
using FlowFleet.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>The shared persistent context store on a real PostgreSQL: two stores on one database stand for two instances.</summary>
public sealed class PostgresContextTests
{
    private static async Task<ClusterStore> StoreAsync() =>
        new(NpgsqlDataSource.Create(await (await PostgresServer.SharedAsync()).CreateDatabaseAsync()));

    private static PostgresContextStore Open(ClusterStore store, string name = "file") =>
        new(store, name, TimeProvider.System, NullLogger<PostgresContextStore>.Instance);

    [Fact]
    public async Task A_value_written_on_one_instance_is_read_on_the_other_and_survives_both()
    {
        var store = await StoreAsync();
        await using (var a = Open(store))
        await using (var b = Open(store))
        {
            a.Set("global", "count", JsonValue.Create(41));
            a.Set("flow1", "cfg", JsonNode.Parse("""{"on":true,"list":[1,2]}"""));
            await Poll.UntilAsync(() => b.Get("global", "count")?.GetValue<int>() == 41, "B reads A's global value");
            await Poll.UntilAsync(() => b.Get("flow1", "cfg")?.ToJsonString() == """{"on":true,"list":[1,2]}""", "B reads A's flow value");

            // The other way round, and a delete.
            b.Set("global", "count", JsonValue.Create(42));
            await Poll.UntilAsync(() => a.Get("global", "count")?.GetValue<int>() == 42, "A reads B's newer value");
            b.Set("flow1", "cfg", null);
            await Poll.UntilAsync(() => a.Get("flow1", "cfg") is null, "A sees B's delete");
            Assert.Equal(["count"], a.Keys("global"));
        }

        // A third instance started later (or one restarted) loads the stored values.
        await using var c = Open(store);
        Assert.Equal(42, c.Get("global", "count")?.GetValue<int>());
        Assert.Null(c.Get("flow1", "cfg"));
    }

    [Fact]
    public async Task Concurrent_writes_of_one_key_end_with_the_same_value_everywhere()
    {
        var store = await StoreAsync();
        await using var a = Open(store);
        await using var b = Open(store);
        for (var i = 0; i < 50; i++)
        {
            a.Set("global", "k", JsonValue.Create("a" + i));
            b.Set("global", "k", JsonValue.Create("b" + i));
        }
        await a.FlushAsync();
        await b.FlushAsync();
        var stored = await StoredAsync(store, "file", "global", "k");
        await Poll.UntilAsync(() => a.Get("global", "k")?.ToJsonString() == stored && b.Get("global", "k")?.ToJsonString() == stored,
            () => $"both hold the stored value {stored}: A {a.Get("global", "k")}, B {b.Get("global", "k")}");
        Assert.Contains(stored, new[] { "\"a49\"", "\"b49\"" });
    }

    [Fact]
    public async Task A_deleted_scope_goes_on_every_instance_and_stores_with_other_names_are_separate()
    {
        var store = await StoreAsync();
        await using var a = Open(store);
        await using var b = Open(store);
        await using var other = Open(store, "disk2");
        a.Set("n1:f1", "x", JsonValue.Create(1));
        a.Set("global", "g", JsonValue.Create(2));
        await Poll.UntilAsync(() => b.Get("n1:f1", "x") is not null && b.Get("global", "g") is not null, "B has both");

        // A deploy without node n1: Clean drops its scope on A, and B follows.
        a.Clean(new HashSet<string>(StringComparer.Ordinal) { "f1" });
        await a.FlushAsync();
        await Poll.UntilAsync(() => b.Get("n1:f1", "x") is null, "B dropped the removed node's scope");
        Assert.Equal(2, b.Get("global", "g")?.GetValue<int>());
        Assert.Null(other.Get("global", "g"));
    }

    [Fact]
    public async Task A_large_value_is_read_back_and_the_engine_uses_the_shared_store_for_persistent_stores_only()
    {
        var store = await StoreAsync();
        var options = new FlowEngineOptions
        {
            ContextStorage = new() { ["default"] = new() { Module = "memory" }, ["file"] = new() { Module = "localfilesystem" } },
        };
        var dir = Directory.CreateTempSubdirectory("ff-ctx-").FullName;
        var persistent = new PersistentContextStores((name, _) => Open(store, name));
        await using var a = RuntimeServiceCollectionExtensions.CreateContexts(options, dir, persistent);
        await using var b = RuntimeServiceCollectionExtensions.CreateContexts(options, dir, persistent);
        Assert.IsType<PostgresContextStore>(a.Store("file"));
        Assert.IsType<MemoryContextStore>(a.Store("default"));

        var big = new string('x', 20_000);
        a.Scope("global").Set("big", JsonValue.Create(big), "file");
        a.Scope("global").Set("local", JsonValue.Create(1));
        await Poll.UntilAsync(() => b.Scope("global").Get("big", "file")?.GetValue<string>() == big, "B reads A's 20 kB value");
        Assert.Null(b.Scope("global").Get("local"));
        Assert.False(File.Exists(Path.Combine(dir, "context.db")));
    }

    private static async Task<string> StoredAsync(ClusterStore store, string name, string scope, string key)
    {
        await using var connection = await store.OpenAsync();
        await using var cmd = ClusterStore.Command(connection, "SELECT value FROM ff_context WHERE store = $1 AND scope = $2 AND key = $3", name, scope, key);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }
}
