using FlowFleet.Server.Hosting;

namespace FlowFleet.Server.Tests;

public sealed class ConnectionBudgetTests
{
    private const string Limits = """
        Limit                     Soft Limit           Hard Limit           Units
        Max cpu time              unlimited            unlimited            seconds
        Max open files            20000                20000                files
        Max locked memory         8388608              8388608              bytes
        """;

    [Fact]
    public void Connections_stop_short_of_the_open_file_limit()
    {
        Assert.Equal(new ConnectionBudget(18900, 200, 200) { Burst = 300 }, ConnectionBudget.Parse(Limits));
        Assert.Equal(new ConnectionBudget(480, 64, 64) { Burst = 16 }, ConnectionBudget.Parse(Limits.Replace("20000                20000", "1024                 4096", StringComparison.Ordinal)));
        Assert.Equal(new ConnectionBudget(64324, 256, 256) { Burst = 300 }, ConnectionBudget.Parse(Limits.Replace("20000                20000", "65536                65536", StringComparison.Ordinal)));
        Assert.Null(ConnectionBudget.Parse(Limits.Replace("20000                20000", "unlimited            unlimited", StringComparison.Ordinal)));
        Assert.Null(ConnectionBudget.Parse(null));
    }

    [Fact]
    public void This_process_has_a_budget_below_its_limit()
    {
        var budget = ConnectionBudget.FromFileLimit();
        Assert.NotNull(budget);
        var soft = long.Parse(File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(budget.Devices + budget.Upgraded + budget.Plain + ConnectionBudget.ProcessFiles <= soft, $"{budget} for a limit of {soft}");
    }
}
