using FlowFleet.Editor.Model;

namespace FlowFleet.Editor.Pages;

/// <summary>Search (ctrl-f, the toolbar's magnifier, the canvas menu): a flow node is shown on its flow, selected and centred;
/// a config node opens in its dialog. The last query is kept for the next search, as in Node-RED.</summary>
public partial class FlowEditor
{
    private bool _searchOpen;
    private string _searchQuery = "";

    private void OpenSearch() => _searchOpen = true;

    private async Task PickSearchHitAsync(SearchHit hit)
    {
        _searchOpen = false;
        // Let the box go first: a dialog focuses itself when it opens, and removing the focused box after that would leave
        // the focus nowhere (Escape would then not reach the dialog).
        StateHasChanged();
        await Task.Yield();
        if (hit.IsConfig)
        {
            await EditAsync(hit.Id);
        }
        else
        {
            await RevealAsync(hit.Id);
        }
    }
}
