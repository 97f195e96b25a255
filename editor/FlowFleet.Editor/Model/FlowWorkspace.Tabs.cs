using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>Flow tabs: add, rename, disable, delete, reorder.</summary>
public sealed partial class FlowWorkspace
{
    public JsonObject AddTab(string? label = null, bool record = true)
    {
        if (record)
        {
            Record();
        }
        var n = Tabs.Count() + 1;
        var tab = new JsonObject { ["id"] = NewId(), ["type"] = "tab", ["label"] = label ?? $"Flow {n}", ["disabled"] = false, ["info"] = "", ["env"] = new JsonArray() };
        var lastTab = Items.FindLastIndex(o => TypeOf(o) == "tab");
        Items.Insert(lastTab + 1, tab);
        ActiveTab = IdOf(tab);
        Changed?.Invoke();
        return tab;
    }

    public void RenameTab(string id, string label)
    {
        if (Find(id) is { } tab && tab["label"]?.GetValue<string>() != label)
        {
            Record();
            tab["label"] = label;
            Changed?.Invoke();
        }
    }

    public void ToggleTabDisabled(string id)
    {
        if (Find(id) is { } tab)
        {
            Record();
            tab["disabled"] = !(tab["disabled"]?.GetValue<bool>() ?? false);
            Changed?.Invoke();
        }
    }

    public void DeleteTab(string id)
    {
        Record();
        Items.RemoveAll(o => IdOf(o) == id || Z(o) == id);
        ActiveTab = Tabs.FirstOrDefault() is { } t ? IdOf(t) : null;
        if (ActiveTab is null)
        {
            AddTab(record: false);
        }
        Changed?.Invoke();
    }

    /// <summary>Moves a tab one place left (-1) or right (+1) among the tabs.</summary>
    public void MoveTab(string id, int direction)
    {
        var tabs = Tabs.ToList();
        var i = tabs.FindIndex(t => IdOf(t) == id);
        var j = i + direction;
        if (i < 0 || j < 0 || j >= tabs.Count)
        {
            return;
        }
        Record();
        var a = Items.IndexOf(tabs[i]);
        var b = Items.IndexOf(tabs[j]);
        (Items[a], Items[b]) = (Items[b], Items[a]);
        Changed?.Invoke();
    }
}
