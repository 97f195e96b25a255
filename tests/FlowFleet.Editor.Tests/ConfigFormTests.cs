using System.Text.Json.Nodes;
using FlowFleet.Editor.Model;

namespace FlowFleet.Editor.Tests;

/// <summary>A component config becomes typed fields, and the fields become a SetConfig patch of what changed.</summary>
public sealed class ConfigFormTests
{
    private static JsonObject Switch() => JsonNode.Parse("""
        {"id":0,"name":"Pump","in_mode":"follow","initial_state":"restore_last","auto_off":false,"auto_off_delay":60.0,
         "power_limit":4480,"current_limit":16.5,"schedule":null,"autorecover":{"enable":true}}
        """)!.AsObject();

    [Fact]
    public void Each_value_gets_the_field_of_its_type_and_the_id_is_not_editable()
    {
        var form = ConfigForm.From(Switch());
        var kinds = form.Fields.ToDictionary(f => f.Key, f => f.Kind);
        Assert.False(kinds.ContainsKey("id"));
        Assert.Equal(ConfigFieldKind.Text, kinds["name"]);
        Assert.Equal(ConfigFieldKind.Bool, kinds["auto_off"]);
        Assert.Equal(ConfigFieldKind.Number, kinds["auto_off_delay"]);
        Assert.Equal(ConfigFieldKind.Json, kinds["schedule"]);
        Assert.Equal(ConfigFieldKind.Json, kinds["autorecover"]);
        Assert.Empty(form.Changes());
    }

    [Fact]
    public void Only_changed_fields_go_into_the_patch_typed_as_the_device_sent_them()
    {
        var form = ConfigForm.From(Switch());
        var field = form.Fields.ToDictionary(f => f.Key);
        field["auto_off"].Flag = true;
        field["auto_off_delay"].Text = "90";
        field["current_limit"].Text = "12.5";
        field["name"].Text = "Pool pump";
        field["autorecover"].Text = """{"enable":false}""";
        var patch = form.Changes();
        Assert.Equal("""{"name":"Pool pump","auto_off":true,"auto_off_delay":90,"current_limit":12.5,"autorecover":{"enable":false}}""", patch.ToJsonString());
    }

    [Fact]
    public void A_field_that_does_not_parse_is_named_in_the_error()
    {
        var form = ConfigForm.From(Switch());
        form.Fields.Single(f => f.Key == "power_limit").Text = "lots";
        Assert.Contains("power_limit", Assert.Throws<FormatException>(() => form.Changes()).Message, StringComparison.Ordinal);
        form.Fields.Single(f => f.Key == "power_limit").Text = "4480";
        form.Fields.Single(f => f.Key == "autorecover").Text = "{broken";
        Assert.Contains("autorecover", Assert.Throws<FormatException>(() => form.Changes()).Message, StringComparison.Ordinal);
    }
}
