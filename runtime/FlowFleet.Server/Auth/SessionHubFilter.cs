using Microsoft.AspNetCore.SignalR;

namespace FlowFleet.Server.Auth;

/// <summary>
/// Ends a Blazor circuit's connection when its session ends (logout, password, role or access change, user deleted):
/// checked on every message from the browser, and watched so an idle circuit is closed too. Reconnecting then needs a
/// valid cookie, which the ended session no longer gives.
/// </summary>
public sealed class SessionHubFilter(SessionMonitor sessions) : IHubFilter
{
    private const string WatchKey = "flowfleet.session-watch";

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var caller = context.Context;
        var sid = Principals.SessionOf(caller.User);
        if (!await sessions.IsValidAsync(sid, caller.ConnectionAborted))
        {
            caller.Abort();
            return;
        }
        caller.Items[WatchKey] = sessions.Watch(sid, () =>
        {
            caller.Abort();
            return Task.CompletedTask;
        });
        await next(context);
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        ArgumentNullException.ThrowIfNull(invocationContext);
        ArgumentNullException.ThrowIfNull(next);
        var caller = invocationContext.Context;
        if (!await sessions.IsValidAsync(Principals.SessionOf(caller.User), caller.ConnectionAborted))
        {
            caller.Abort();
            throw new HubException("Your session has ended; log in again");
        }
        return await next(invocationContext);
    }

    public Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (context.Context.Items.TryGetValue(WatchKey, out var watch) && watch is IDisposable d)
        {
            d.Dispose();
        }
        return next(context, exception);
    }
}
