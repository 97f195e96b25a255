using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;

namespace FlowFleet.Runtime.Tests.Context;

public sealed class ContextQuotaTests
{
    private static JsonNode Text(int chars) => JsonValue.Create(new string('x', chars));

    [Fact]
    public void A_scope_past_its_limit_refuses_the_set_and_keeps_the_old_value()
    {
        var contexts = new ContextManager(limits: new ContextLimits { MaxBytesPerScope = 1_000_000, MaxBytesPerStore = 10_000_000 });
        var node = contexts.Scope("n1:f1");
        node.Set("a", Text(300_000));
        var ex = Assert.Throws<ContextQuotaException>(() => node.Set("b", Text(300_000)));
        Assert.Contains("node context n1:f1 would hold", ex.Message, StringComparison.Ordinal);
        Assert.Null(node.Get("b"));
        // Replacing a key counts the old value out; deleting frees it.
        node.Set("a", Text(400_000));
        node.Set("a", null);
        node.Set("b", Text(400_000));
        // Paths inside an object are counted too, checked before anything changes.
        node.Set("obj", new JsonObject());
        Assert.Throws<ContextQuotaException>(() => node.Set("obj.big", Text(200_000)));
        Assert.Null(node.Get("obj.big"));
        node.Set("obj.small", Text(10));
        // Other scopes have their own budget.
        contexts.Scope("global").Set("a", Text(400_000));
    }

    [Fact]
    public void A_store_past_its_limit_refuses_sets_and_removed_scopes_give_their_share_back()
    {
        var contexts = new ContextManager(limits: new ContextLimits { MaxBytesPerScope = 1_000_000, MaxBytesPerStore = 2_000_000 });
        for (var i = 0; i < 4; i++)
        {
            contexts.Scope($"n{i}:f").Set("k", Text(200_000));
        }
        Assert.Throws<ContextQuotaException>(() => contexts.Scope("n9:f").Set("k", Text(200_000)));
        contexts.DeleteScope("n0:f");
        contexts.Scope("n9:f").Set("k", Text(200_000));
        contexts.Clean(new HashSet<string> { "n9:f" });
        for (var i = 0; i < 3; i++)
        {
            contexts.Scope($"m{i}:f").Set("k", Text(200_000));
        }
    }

    [Fact]
    public void Values_already_in_a_persistent_store_count()
    {
        var memory = new MemoryContextStore();
        memory.Set("global", "old", Text(450_000));
        var contexts = new ContextManager(new Dictionary<string, IContextStore> { ["default"] = memory }, limits: new ContextLimits { MaxBytesPerScope = 1_000_000 });
        Assert.Throws<ContextQuotaException>(() => contexts.Scope("global").Set("new", Text(200_000)));
    }
}
