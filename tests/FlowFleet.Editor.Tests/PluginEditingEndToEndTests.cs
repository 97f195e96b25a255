using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Storage;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>A plugin node type (a plugins folder with <c>plugin.json</c>) that declares a trigger button and a rule list with one
/// output per rule gets both in the browser editor, driven by mouse only: its button fires the running node, a rule added in its
/// dialog adds an output port, and the deployed node then runs with two rules.</summary>
public sealed class PluginEditingEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "plugin-e2e-pass";

    private const string Flow = """
        [{"id":"t1","type":"tab","label":"Plugins"},
         {"id":"r","type":"threshold router","z":"t1","name":"","limits":[{"t":"gt","v":"10","vt":"num"}],"outputs":1,"x":220,"y":120,"wires":[["d"]]},
         {"id":"d","type":"debug","z":"t1","name":"","active":true,"complete":"false","x":480,"y":120,"wires":[]}]
        """;

    protected override Task StartAsync()
    {
        var plugins = Directory.CreateTempSubdirectory("flowfleet-plugins-").FullName;
        TestPlugins.WriteThresholdRouter(plugins);
        return StartServerAsync(Password, plugins: plugins);
    }

    [Fact]
    public async Task A_plugin_type_gets_its_button_and_its_rule_list_with_an_output_per_rule()
    {
        await Get<FlowService>().DeployAsync(JsonNode.Parse(Flow)!, DeployType.Full, null, new DeployInfo("admin", null));
        var page = await EditorPageAsync(Password);
        var router = page.Locator(".ff-node[data-type='threshold router']");
        await router.WaitForAsync();
        Assert.Equal("1", await router.GetAttributeAsync("data-outputs"));

        // Its trigger button (declared in plugin.json, drawn as inject's is) fires the running node: one rule.
        await Pointer.ClickAsync(page, router.Locator("[data-testid=node-button][data-button=trigger]"));
        await page.WaitForSelectorAsync("[data-testid=debug-message]:has-text('rules: 1')", new PageWaitForSelectorOptions { Timeout = 15_000 });

        // Its rule list (switch-shaped, one output per rule): add a rule in the dialog, and the node gets a second port.
        await Pointer.DoubleClickAsync(page, router);
        await page.WaitForSelectorAsync(".mud-dialog [data-field=limits] [data-testid=rules-editor]", new PageWaitForSelectorOptions { Timeout = 15_000 });
        await Pointer.ClickAsync(page, page.Locator(".mud-dialog [data-field=limits] button:has-text('add')"));
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.mud-dialog [data-field=limits] [data-testid=rules-editor] .mud-select').length >= 2");
        await Pointer.ClickAsync(page, "[data-testid=node-done]");
        await page.WaitForSelectorAsync(".mud-dialog", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached, Timeout = 15_000 });
        await page.WaitForSelectorAsync(".ff-node[data-type='threshold router'][data-outputs='2']");
        Assert.Equal(2, await router.Locator(".ff-port-out").CountAsync());

        // Deployed, the running node has both rules: the button now reports two.
        await Pointer.ClickAsync(page, "[data-testid=deploy]");
        await page.WaitForSelectorAsync(".mud-snackbar:has-text('Deployed')", new PageWaitForSelectorOptions { Timeout = 15_000 });
        var deployed = Get<FlowService>().GetFlows().OfType<JsonObject>().Single(o => o["id"]?.GetValue<string>() == "r");
        Assert.Equal(2, deployed["limits"]!.AsArray().Count);
        Assert.Equal(2, deployed["outputs"]!.GetValue<int>());
        Assert.Equal(2, deployed["wires"]!.AsArray().Count);
        await Pointer.ClickAsync(page, router.Locator("[data-testid=node-button][data-button=trigger]"));
        await page.WaitForSelectorAsync("[data-testid=debug-message]:has-text('rules: 2')", new PageWaitForSelectorOptions { Timeout = 15_000 });
    }
}
