namespace FlowFleet.Server.Red;

/// <summary>Errors in Node-RED's admin API shape: <c>{error, message}</c> (with <c>code</c> too, as newer clients read it).</summary>
public static class RedErrors
{
    public static IResult Json(int status, string code, string message) =>
        Results.Json(new { error = code, code, message }, statusCode: status);

    public static IResult BadRequest(string message) => Json(400, "invalid_request", message);

    public static IResult NotFound(string what) => Json(404, "not_found", what + " not found");
}
