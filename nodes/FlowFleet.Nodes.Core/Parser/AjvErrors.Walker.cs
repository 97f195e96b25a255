using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using Json.Schema;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>The walk over JsonSchema.Net's nested results that emits ajv's errors in ajv's order, keyword by keyword.</summary>
internal static partial class AjvErrors
{
    private sealed class Walker(JsonNode root, JsonNode? instance, JsonArray errors)
    {
        public void Walk(EvaluationResults r, List<string> segments, Scope? inherited)
        {
            var schemaPath = SchemaPath(segments);
            var location = Pointer(r.InstanceLocation.ToString());
            var scope = inherited ?? new Scope(Path(location), At(instance, location), null);
            var schema = At(root, segments);
            if (schema is JsonValue v && v.GetValueKind() == JsonValueKind.False)
            {
                Add(scope, schemaPath + "/false schema", "false schema", [], "boolean schema is false");
                return;
            }
            if (schema is not JsonObject s)
            {
                return;
            }
            var kids = Children(r, s, segments);
            var own = r.Errors ?? new Dictionary<string, string>();
            var types = s["type"] switch
            {
                JsonArray a => a.Select(t => JsonTools.Text(t) ?? "").ToList(),
                JsonValue t => [JsonTools.Text(t) ?? ""],
                _ => [],
            };
            var typeFailed = own.ContainsKey("type");
            var typeGroup = types.Count == 1 ? s_groups.FirstOrDefault(g => g.Type == types[0] && g.Keywords.Any(s.ContainsKey)).Type : null;
            void TypeError() => Add(scope, schemaPath + "/type", "type", new JsonObject { ["type"] = s["type"]!.DeepClone() }, "must be " + string.Join(",", types));
            if (typeFailed && typeGroup is null)
            {
                TypeError();
            }
            foreach (var keyword in s_nullGroup.Where(s.ContainsKey))
            {
                Keyword(keyword, s, schemaPath, scope, own, kids);
            }
            foreach (var (type, keywords) in s_groups.Where(g => g.Keywords.Any(s.ContainsKey)))
            {
                if (IsType(type, scope.Data))
                {
                    foreach (var keyword in keywords.Where(s.ContainsKey))
                    {
                        Keyword(keyword, s, schemaPath, scope, own, kids);
                    }
                }
                else if (typeFailed && typeGroup == type)
                {
                    TypeError();
                }
            }
        }

        private void Keyword(string keyword, JsonObject s, string schemaPath, Scope scope, IReadOnlyDictionary<string, string> own, List<Kid> kids)
        {
            var value = s[keyword];
            var at = schemaPath + "/" + keyword;
            var mine = kids.Where(k => k.Keyword == keyword).ToList();
            var failing = mine.Where(k => !k.Result.IsValid).ToList();
            switch (keyword)
            {
                case "$ref" or "allOf" or "properties":
                    failing.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                    break;
                case "const" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["allowedValue"] = value?.DeepClone() }, "must be equal to constant");
                    break;
                case "enum" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["allowedValues"] = value?.DeepClone() }, "must be equal to one of the allowed values");
                    break;
                case "not" when mine.Any(k => k.Result.IsValid) || own.ContainsKey(keyword):
                    Add(scope, at, keyword, [], "must NOT be valid");
                    break;
                case "anyOf" when mine.Count > 0 && failing.Count == mine.Count:
                    failing.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                    Add(scope, at, keyword, [], "must match a schema in anyOf");
                    break;
                case "oneOf":
                    // ajv stops at the second passing branch: errors of failing branches after it are never made
                    var passing = new List<int>();
                    var before = new List<Kid>();
                    foreach (var k in mine.OrderBy(k => Order(value, k.Rest)))
                    {
                        if (!k.Result.IsValid)
                        {
                            before.Add(k);
                        }
                        else if (passing.Count == 1)
                        {
                            passing.Add(Order(value, k.Rest));
                            break;
                        }
                        else
                        {
                            passing.Add(Order(value, k.Rest));
                        }
                    }
                    if (passing.Count != 1)
                    {
                        before.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                        Add(scope, at, keyword, new JsonObject { ["passingSchemas"] = passing.Count == 0 ? null : new JsonArray(passing[0], passing[1]) }, "must match exactly one schema in oneOf");
                    }
                    break;
                case "if":
                    foreach (var branch in new[] { "then", "else" })
                    {
                        var failed = kids.Where(k => k.Keyword == branch && !k.Result.IsValid).ToList();
                        if (failed.Count > 0)
                        {
                            failed.ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                            Add(scope, at, keyword, new JsonObject { ["failingKeyword"] = branch }, $"must match \"{branch}\" schema");
                        }
                    }
                    break;
                case "multipleOf" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["multipleOf"] = value?.DeepClone() }, "must be multiple of " + JsonTools.ToJsString(value));
                    break;
                case "pattern" when own.ContainsKey(keyword):
                    Add(scope, at, keyword, new JsonObject { ["pattern"] = value?.DeepClone() }, $"must match pattern \"{JsonTools.Text(value)}\"");
                    break;
                case "required" when own.ContainsKey(keyword) && scope.Data is JsonObject data:
                    foreach (var name in (value as JsonArray ?? []).Select(n => JsonTools.Text(n) ?? "").Where(n => !data.ContainsKey(n)))
                    {
                        Add(scope, at, keyword, new JsonObject { ["missingProperty"] = name }, $"must have required property '{name}'");
                    }
                    break;
                case "uniqueItems" when own.ContainsKey(keyword) && scope.Data is JsonArray array:
                    if (Duplicate(array, s["items"]) is var (i, j))
                    {
                        Add(scope, at, keyword, new JsonObject { ["i"] = i, ["j"] = j }, $"must NOT have duplicate items (items ## {j} and {i} are identical)");
                    }
                    break;
                case "items" or "patternProperties":
                    // per index or pattern as the schema lists them, then per item as the data holds them
                    foreach (var k in failing.OrderBy(k => Order(s[keyword], k.Rest)).ThenBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        Walk(k.Result, k.Segments, Inherit(scope));
                    }
                    break;
                case "additionalItems" when value is JsonValue f && f.GetValueKind() == JsonValueKind.False:
                    if (failing.Count > 0 || own.ContainsKey(keyword))
                    {
                        Add(scope, at, keyword, new JsonObject { ["limit"] = (s["items"] as JsonArray)?.Count ?? 0 }, $"must NOT have more than {(s["items"] as JsonArray)?.Count ?? 0} items");
                    }
                    break;
                case "additionalProperties" when value is JsonValue f && f.GetValueKind() == JsonValueKind.False:
                    if (scope.Data is JsonObject target)
                    {
                        foreach (var name in Additional(s, target))
                        {
                            Add(scope, at, keyword, new JsonObject { ["additionalProperty"] = name }, "must NOT have additional properties");
                        }
                    }
                    break;
                case "additionalItems" or "additionalProperties":
                    foreach (var k in failing.OrderBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        Walk(k.Result, k.Segments, Inherit(scope));
                    }
                    break;
                case "contains" when failing.Count == mine.Count:
                    foreach (var k in failing.OrderBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        Walk(k.Result, k.Segments, Inherit(scope));
                    }
                    Add(scope, at, keyword, new JsonObject { ["minContains"] = 1 }, "must contain at least 1 valid item(s)");
                    break;
                case "propertyNames":
                    foreach (var k in failing.OrderBy(k => InstanceOrder(scope.Data, k.Result)))
                    {
                        var name = Pointer(k.Result.InstanceLocation.ToString()).LastOrDefault() ?? "";
                        Walk(k.Result, k.Segments, new Scope(scope.InstancePath, JsonValue.Create(name), name));
                        Add(scope with { PropertyName = null }, at, keyword, new JsonObject { ["propertyName"] = name }, "property name must be valid");
                    }
                    break;
                case "dependencies" when scope.Data is JsonObject obj && value is JsonObject deps:
                    foreach (var (property, dep) in deps.Where(d => obj.ContainsKey(d.Key)))
                    {
                        if (dep is JsonArray list)
                        {
                            var names = list.Select(n => JsonTools.Text(n) ?? "").ToList();
                            foreach (var missing in names.Where(n => !obj.ContainsKey(n)))
                            {
                                Add(scope, at, keyword, new JsonObject { ["property"] = property, ["missingProperty"] = missing, ["depsCount"] = names.Count, ["deps"] = string.Join(", ", names) },
                                    $"must have propert{(names.Count == 1 ? "y" : "ies")} {string.Join(", ", names)} when property {property} is present");
                            }
                        }
                        else
                        {
                            failing.Where(k => k.Rest == property).ToList().ForEach(k => Walk(k.Result, k.Segments, Inherit(scope)));
                        }
                    }
                    break;
                default:
                    if (own.ContainsKey(keyword) && s_limits.TryGetValue(keyword, out var limit))
                    {
                        var text = limit.Text.Length == 0
                            ? $"must be {limit.Comparison} {JsonTools.ToJsString(value)}"
                            : "must NOT have " + string.Format(System.Globalization.CultureInfo.InvariantCulture, limit.Text, JsonTools.ToJsString(value));
                        var parameters = limit.Text.Length == 0 ? new JsonObject { ["comparison"] = limit.Comparison, ["limit"] = value?.DeepClone() } : new JsonObject { ["limit"] = value?.DeepClone() };
                        Add(scope, at, keyword, parameters, text);
                    }
                    break;
            }
        }

        // Inside propertyNames every error is about the name, not a value at a path.
        private static Scope? Inherit(Scope scope) => scope.PropertyName is null ? null : scope;

        private void Add(Scope scope, string schemaPath, string keyword, JsonObject parameters, string message) =>
            errors.Add(Error(scope.InstancePath, schemaPath, keyword, parameters, message, scope.PropertyName));
    }
}
