namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's time unit names (delay, trigger).</summary>
internal static class TimeUnits
{
    public static TimeSpan Of(double amount, string? unit) => unit switch
    {
        "milliseconds" or "ms" => TimeSpan.FromMilliseconds(amount),
        "minutes" or "minute" or "min" => TimeSpan.FromMinutes(amount),
        "hours" or "hour" or "hr" => TimeSpan.FromHours(amount),
        "days" or "day" => TimeSpan.FromDays(amount),
        _ => TimeSpan.FromSeconds(amount),
    };
}
