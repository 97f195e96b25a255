// Shelly fleet manager's own web UI (built from its frontend with npm) against FlowFleet in headless Chromium, by mouse and
// keyboard: log in, open Devices, see every device listed and online, watch live status arrive on the UI's websocket, and
// send an RPC through the UI's "Create Action → Send RPC" dialog.
// Usage: node fm-ui-check.mjs UI_URL USER PASSWORD DEVICES
import {chromium} from 'playwright-core';

const [ui, user, password, devicesArg] = process.argv.slice(2);
const want = Number(devicesArg);
const browser = await chromium.launch({executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox']});
const page = await browser.newPage({viewport: {width: 1400, height: 900}});
const received = {status: 0, answers: 0, sent: []};
page.on('websocket', (ws) => {
    ws.on('framesent', (f) => { try { const m = JSON.parse(f.payload); if (m.method) received.sent.push(m.method + (m.dst ? ' -> ' + (Array.isArray(m.dst) ? m.dst.join(',') : m.dst) : '')); } catch {} });
    ws.on('framereceived', (f) => {
        try {
            const m = JSON.parse(f.payload);
            if (m.method === 'Shelly.Status' && m.params?.status) received.status++;
            else if (m.id !== undefined && m.result !== undefined && m.src !== 'FLEET_MANAGER') received.answers++;
        } catch {}
    });
});
async function click(locator) {
    await locator.waitFor({state: 'visible', timeout: 20_000});
    const box = await locator.boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}
async function type(locator, text) {
    await click(locator);
    await page.keyboard.type(text);
}

await page.goto(ui + '/#/login');
await type(page.getByPlaceholder('username'), user);
await type(page.getByPlaceholder('*****'), password);
await click(page.getByText('Sign In', {exact: true}));
await page.waitForFunction(() => !location.hash.includes('login'), null, {timeout: 20_000});
console.log('logged in: ' + await page.evaluate(() => location.hash));

await page.goto(ui + '/#/devices/devices');
const total = page.getByText(`Total ${want} devices (${want} online)`);
await total.waitFor({timeout: 60_000});
console.log(`devices page: "Total ${want} devices (${want} online)"`);
await page.waitForTimeout(20_000);
console.log(`live status: ${received.status} Shelly.Status events reached the UI in 20 s`);

// An RPC from the UI: select a device in "Create Action", "Send RPC to 1 devices", Next, Next, Run now, Next.
await click(page.getByText('Create Action', {exact: true}));
const firstWidget = page.locator('.widget-grid-devices > *').first();
await click(firstWidget);
await click(page.getByText('Send RPC to 1 devices', {exact: true}));
// Build: the preset "Shelly" → "GetStatus" (the dialog's first dropdown lists components, its options are list items).
await click(page.locator('[data-dropdown-toggle="dropdown"]').first());
await click(page.locator('li').filter({hasText: /^Shelly$/}).first());
const before = received.answers;
const next = () => page.getByRole('button', {name: 'Next', exact: true}).or(page.getByRole('button', {name: 'Finish', exact: true}));
for (let i = 0; i < 2; i++) await click(next());
await click(page.getByRole('checkbox', {name: 'Run now'}));
await click(next());
await page.waitForFunction(() => true, null, {timeout: 1000});
for (let i = 0; i < 100 && received.answers === before; i++) await page.waitForTimeout(100);
console.log(`rpc from the UI: sent ${received.sent.filter((m) => !m.includes('FLEET_MANAGER')).slice(-1)[0] ?? 'nothing'}; device answers received: ${received.answers - before}`);
await page.screenshot({path: process.env.SHOT ?? 'fm-ui.png'});
await browser.close();
process.exit(received.answers > before ? 0 : 1);
