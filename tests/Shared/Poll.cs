namespace FlowFleet.Tests;

// Compiled into every test project (tests/Directory.Build.props links tests/Shared/*.cs): the test projects don't reference each
// other, and each had its own copy of this. Internal, so a project referencing another (Nodes.Core → Runtime.Tests) sees one.

/// <summary>Waits for state a test has no signal for (devices connecting over real sockets), failing after a timeout.</summary>
internal static class Poll
{
    public static Task UntilAsync(Func<bool> condition, string what, int timeoutMs = 10_000) =>
        UntilAsync(() => Task.FromResult(condition()), () => what, timeoutMs);

    public static Task UntilAsync(Func<Task<bool>> condition, string what, int timeoutMs = 10_000) => UntilAsync(condition, () => what, timeoutMs);

    public static Task UntilAsync(Func<bool> condition, Func<string> what, int timeoutMs = 10_000) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeoutMs);

    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> what, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Timed out waiting for: " + what());
            }
            await Task.Delay(25);
        }
    }
}
