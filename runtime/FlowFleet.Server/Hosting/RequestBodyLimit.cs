namespace FlowFleet.Server.Hosting;

/// <summary>
/// The request body limit (<c>Http:MaxRequestBodyBytes</c>, default 16 MiB) and a clear 413 when a body exceeds it.
/// Kestrel throws while the endpoint reads the body; unhandled, that was an empty 413 and a stack trace in the log. A flow
/// set of 100,000 nodes is about 24 MB, so large installations raise the limit.
/// </summary>
public sealed partial class RequestBodyLimit(RequestDelegate next, ILogger<RequestBodyLimit> logger)
{
    public const long DefaultBytes = 16 * 1024 * 1024;

    public static long Bytes(IConfiguration configuration) =>
        Math.Max(1024, configuration.GetValue("Http:MaxRequestBodyBytes", DefaultBytes));

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
        {
            var limit = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            LogTooLarge(context.Request.Method, context.Request.Path.Value ?? "", limit);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            var message = $"Request body too large: the limit is {limit} bytes (setting Http:MaxRequestBodyBytes)";
            await context.Response.WriteAsJsonAsync(new { error = "too_large", code = "too_large", message }, context.RequestAborted);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} refused: request body over {Limit} bytes (Http:MaxRequestBodyBytes)")]
    private partial void LogTooLarge(string method, string path, long? limit);
}
