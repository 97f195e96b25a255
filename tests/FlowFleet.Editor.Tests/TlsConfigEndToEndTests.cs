using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Storage;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>
/// The tls-config form generated from its descriptor, filled as a person does: a tcp request's "+" next to TLS adds one, its
/// pencil opens it, the CA PEM is pasted into its text area; after deploy the node talks TLS to a server that only the
/// pasted CA vouches for, and the PEM is in the encrypted credentials only.
/// </summary>
[Collection("editor-mouse")]
public sealed class TlsConfigEndToEndTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    private static ILocator Node(IPage page, string type) => page.Locator($".ff-node[data-type='{type}']").First;

    private static async Task TypeIntoAsync(IPage page, ILocator field, string text)
    {
        await Pointer.ClickAsync(page, field);
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.TypeAsync(text);
    }

    [Fact]
    public async Task A_tls_config_is_added_from_tcp_request_filled_by_mouse_and_keyboard_and_used_after_deploy()
    {
        using var pki = TestPki.Create();
        var received = System.Threading.Channels.Channel.CreateUnbounded<string>();
        await using var server = new TlsTestServer(pki, requireClientCertificate: false, async (ssl, ct) =>
        {
            var buffer = new byte[256];
            var n = await ssl.ReadAsync(buffer, ct);
            received.Writer.TryWrite(Encoding.UTF8.GetString(buffer, 0, n));
            await ssl.WriteAsync(buffer.AsMemory(0, n), ct);
        });

        var page = await fx.LoggedInAsync();
        await Pointer.ClickAsync(page, "[data-testid=add-tab]");
        await Pointer.DropFromPaletteAsync(page, "inject", 160, 160);
        await Pointer.DropFromPaletteAsync(page, "tcp request", 420, 160);
        await Pointer.WireAsync(page, Node(page, "inject"), Node(page, "tcp request"));

        await Pointer.DoubleClickAsync(page, Node(page, "tcp request"));
        var outer = page.Locator(".mud-dialog").First;
        await outer.WaitForAsync();
        await TypeIntoAsync(page, outer.Locator("[data-field=server] input").First, "127.0.0.1");
        await TypeIntoAsync(page, outer.Locator("[data-field=port] input").First, server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Pointer.ClickAsync(page, outer.Locator("[data-field=tls] button[title='add a new tls-config']"));
        await Pointer.ClickAsync(page, outer.Locator("[data-field=tls] button[title='edit']"));
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.mud-dialog').length === 2");

        // The tls-config dialog: Node-RED's fields, generated from the descriptor.
        var tls = page.Locator(".mud-dialog").Last;
        foreach (var field in new[] { "name", "cert", "key", "ca", "certdata", "keydata", "passphrase", "cadata", "verifyservercert", "servername", "alpnprotocol" })
        {
            await tls.Locator($"[data-field={field}]").WaitForAsync();
        }
        Assert.Equal(0, await tls.Locator("[data-field=certname]").CountAsync());
        Assert.True(await tls.Locator("[data-field=verifyservercert] input[type=checkbox]").IsCheckedAsync());
        Assert.Equal("password", await tls.Locator("[data-field=passphrase] input").GetAttributeAsync("type"));
        await TypeIntoAsync(page, tls.Locator("[data-field=name] input").First, "test CA");
        await Pointer.ClickAsync(page, tls.Locator("[data-field=cadata] textarea").First);
        // Pasted, as a person pastes a PEM file's text.
        await page.Keyboard.InsertTextAsync(pki.CaPem);
        await TypeIntoAsync(page, tls.Locator("[data-field=servername] input").First, "localhost");
        await Pointer.ClickAsync(page, tls.Locator("[data-testid=node-done]"));
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.mud-dialog').length === 1");
        await Pointer.ClickAsync(page, outer.Locator("[data-testid=node-done]"));
        await page.WaitForSelectorAsync(".mud-dialog", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached, Timeout = 15_000 });

        await Pointer.ClickAsync(page, "[data-testid=deploy]");
        await page.WaitForSelectorAsync(".mud-snackbar:has-text('Deployed')", new PageWaitForSelectorOptions { Timeout = 15_000 });
        var flows = fx.Get<FlowService>().GetFlows().OfType<JsonObject>().ToList();
        var config = flows.Single(o => o["type"]?.GetValue<string>() == "tls-config");
        Assert.Equal("localhost", config["servername"]?.GetValue<string>());
        Assert.Equal("test CA", config["name"]?.GetValue<string>());
        var request = flows.Single(o => o["type"]?.GetValue<string>() == "tcp request");
        Assert.Equal(config["id"]!.GetValue<string>(), request["tls"]?.GetValue<string>());

        // The deployed node trusts the server through the pasted CA and verifies its name: the inject reaches it over TLS.
        await Pointer.ClickAsync(page, page.Locator("[data-testid=node-button][data-button=trigger]").First);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        Assert.Matches("^[0-9]+$", await received.Reader.ReadAsync(cts.Token));

        // The PEM is in the encrypted credentials only, not in the flow file or what the editor loads.
        var pemBody = pki.CaPem.Split('\n')[1];
        Assert.DoesNotContain(pemBody, await File.ReadAllTextAsync(Path.Combine(fx.DataDirectory, "flows.json")), StringComparison.Ordinal);
        Assert.DoesNotContain(pemBody, await File.ReadAllTextAsync(Path.Combine(fx.DataDirectory, "flows_cred.json")), StringComparison.Ordinal);
        Assert.DoesNotContain(pemBody, flows.Select(o => o.ToJsonString()).Aggregate((a, b) => a + b), StringComparison.Ordinal);
    }
}
