using FlowFleet.Fleet.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Tests;

public sealed class LazyDbContextFactoryTests
{
    [Fact]
    public async Task EF_Cores_options_are_built_on_the_first_context_not_when_the_factory_is_resolved()
    {
        var configured = 0;
        var services = new ServiceCollection();
        services.AddLazyDbContextFactory<FleetDbContext>((_, o) =>
        {
            configured++;
            o.UseSqlite("Data Source=:memory:");
        });
        await using var sp = services.BuildServiceProvider();
        var factory = sp.GetRequiredService<IDbContextFactory<FleetDbContext>>();
        Assert.Same(factory, sp.GetRequiredService<IDbContextFactory<FleetDbContext>>());
        Assert.Equal(0, configured);
        await using (var db = await factory.CreateDbContextAsync())
        {
            Assert.Equal("Microsoft.EntityFrameworkCore.Sqlite", db.Database.ProviderName);
        }
        using var second = factory.CreateDbContext();
        // Options are built once (singleton), as with AddDbContextFactory.
        Assert.Equal(1, configured);
    }
}
