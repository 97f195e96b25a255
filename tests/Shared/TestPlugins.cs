namespace FlowFleet.Tests;

// Compiled into every test project (tests/Directory.Build.props links tests/Shared/*.cs): the runtime tests load these plugins
// through PluginLoader, the editor tests serve them to the browser — the same folders a user drops into plugins/.

/// <summary>JavaScript plugin node types declaring editor hints, written into a plugins folder.</summary>
internal static class TestPlugins
{
    /// <summary>"threshold router": a trigger button, switch-style rules (<c>limits</c>) with one output per rule. A message goes
    /// to the first rule whose limit it exceeds; a button press (a timestamp payload) reports the rule count on output 1.</summary>
    public static void WriteThresholdRouter(string pluginsDirectory, string ui = "rules")
    {
        var dir = Directory.CreateDirectory(Path.Combine(pluginsDirectory, "router")).FullName;
        File.WriteAllText(Path.Combine(dir, "plugin.json"), $$$"""
            {"type":"threshold router","category":"function","outputs":1,"outputsProperty":"outputs","button":"trigger","color":"#e2d96e",
             "properties":{"name":{"default":"","ui":"text"},
                           "limits":{"default":[{"t":"gt","v":"10","vt":"num"}],"ui":"{{{ui}}}","rules":"switch","outputPerRule":true,"label":"Limits"},
                           "outputs":{"default":1,"ui":"hidden"}},
             "script":"node.js"}
            """);
        File.WriteAllText(Path.Combine(dir, "node.js"), """
            if (typeof msg.payload === 'number' && msg.payload > 1e12) { return { payload: 'rules: ' + config.limits.length }; }
            var out = [];
            for (var i = 0; i < config.limits.length; i++) { out.push(null); }
            for (var j = 0; j < config.limits.length; j++) {
                if (msg.payload > Number(config.limits[j].v)) { out[j] = msg; return out; }
            }
            return null;
            """);
    }

    /// <summary>"gate": a sink with a toggle button on its <c>open</c> property.</summary>
    public static void WriteGate(string pluginsDirectory)
    {
        var dir = Directory.CreateDirectory(Path.Combine(pluginsDirectory, "gate")).FullName;
        File.WriteAllText(Path.Combine(dir, "plugin.json"), """
            {"type":"gate","category":"function","inputs":1,"outputs":0,"button":{"kind":"toggle","property":"open"},
             "properties":{"name":{"default":"","ui":"text"},"open":{"default":true,"ui":"hidden"}},"script":"node.js"}
            """);
        File.WriteAllText(Path.Combine(dir, "node.js"), "return null;");
    }
}
