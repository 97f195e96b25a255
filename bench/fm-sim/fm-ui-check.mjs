// Shelly fleet manager's own web UI (built from its frontend with npm) against FlowFleet in headless Chromium, by mouse and
// keyboard: log in, open Devices, see every device listed and online, open a device, toggle its output from the entity's
// power button and see the new state arrive (Shelly.Status on the UI's websocket, the button's colour, FlowFleet's REST).
// Usage: node fm-ui-check.mjs UI_URL USER PASSWORD DEVICES [FLOWFLEET_URL]
import {chromium} from 'playwright-core';

const [ui, user, password, devicesArg, flowfleet] = process.argv.slice(2);
const want = Number(devicesArg);
const browser = await chromium.launch({executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox']});
const page = await browser.newPage({viewport: {width: 1400, height: 900}});
const seen = {status: 0, sent: [], answers: []};
page.on('websocket', (ws) => {
    ws.on('framesent', (f) => { try { const m = JSON.parse(f.payload); if (m.method) seen.sent.push(m); } catch {} });
    ws.on('framereceived', (f) => {
        try {
            const m = JSON.parse(f.payload);
            if (m.method === 'Shelly.Status' && m.params?.status) seen.status++;
            else if (m.id !== undefined && m.src !== 'FLEET_MANAGER') seen.answers.push(m);
        } catch {}
    });
});
let failed = 0;
const check = (ok, text) => { console.log((ok ? 'ok   ' : 'FAIL ') + text); if (!ok) failed++; };
async function click(locator) {
    await locator.waitFor({state: 'visible', timeout: 20_000});
    const box = await locator.boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}
async function until(predicate, ms) {
    for (const end = Date.now() + ms; Date.now() < end;) { if (await predicate()) return true; await page.waitForTimeout(100); }
    return false;
}

await page.goto(ui + '/#/login');
await click(page.getByPlaceholder('username'));
await page.keyboard.type(user);
await click(page.getByPlaceholder('*****'));
await page.keyboard.type(password);
await click(page.getByText('Sign In', {exact: true}));
await page.waitForFunction(() => !location.hash.includes('login'), null, {timeout: 20_000});
check(true, 'logged in: ' + await page.evaluate(() => location.hash));

await page.goto(ui + '/#/devices/devices');
// FM's UI counts a battery device (its BATTERY_POWERED_DEVICES_APPS: HTG3, PlusSmoke, FloodSensorG4) online only while
// status.sys.unixtime + wakeup_period is in the future -- FM's simulator's H&T reports a fixed clock, so FM's own server
// shows it offline too. Every other device must be online.
const battery = async () => {
    const list = await page.evaluate(async () => (await fetch('/rpc/Device.List', {headers: {Authorization: 'Bearer ' + localStorage.getItem('access_token')}})).json());
    return Object.values(list).filter((d) => ['HTG3', 'PlusSmoke', 'FloodSensorG4'].includes(d.info?.app)).length;
};
const asleep = await battery();
const total = page.getByText(`Total ${want} devices (`);
check(await until(async () => (await total.count()) > 0 && Number((await total.textContent()).match(/\((\d+) online/)?.[1]) >= want - asleep, 60_000),
    `devices page: "${(await total.count()) ? await total.textContent() : 'no total'}" (${asleep} battery device(s) by FM's wake-up rule)`);
// The UI opens its websocket (token as subprotocol) within its 5 s reconnect tick and subscribes.
check(await until(() => seen.sent.some((m) => m.method === 'FleetManager.Subscribe'), 15_000), 'websocket open, FleetManager.Subscribe sent');
check(await until(() => seen.answers.length >= 0 && seen.sent.some((m) => /^entity\.list$/i.test(m.method)), 15_000), 'entity.list sent');

// A device with a switch: open it (click its card), find its output entity's power button.
await click(page.locator('.widget-grid-devices > *').first());
const power = page.locator('button.rounded-full:has(i.fa-power-off)').first();
await power.waitFor({state: 'visible', timeout: 20_000});
const wasOn = (await power.getAttribute('class')).includes('bg-emerald-500');
const statusBefore = seen.status;
const sentBefore = seen.sent.length;
await click(power);
const flipped = await until(async () => (await power.getAttribute('class')).includes(wasOn ? 'bg-red-500' : 'bg-emerald-500'), 15_000);
await page.waitForTimeout(1500); // a second toggle would show up within this
const toggles = seen.sent.slice(sentBefore).filter((m) => /\.toggle$/i.test(m.method));
check(toggles.length === 1, `one click sent ${toggles.length} toggle(s): ${toggles.map((m) => `${m.method} -> ${m.dst} ${JSON.stringify(m.params)}`).join('; ')}`);
const answer = seen.answers.find((a) => toggles[0] && a.id === toggles[0].id);
check(answer && answer.result && answer.src === toggles[0].dst, `device answered: ${JSON.stringify(answer)}`);
check(seen.status > statusBefore, `live status: ${seen.status - statusBefore} Shelly.Status event(s) after the toggle (${seen.status} in all)`);
check(flipped, `the power button turned ${wasOn ? 'off (red)' : 'on (green)'}`);
const stillFlipped = (await power.getAttribute('class')).includes(wasOn ? 'bg-red-500' : 'bg-emerald-500');
check(stillFlipped, 'and stayed so');
if (flowfleet && toggles[0]) {
    const token = await page.evaluate(() => localStorage.getItem('access_token'));
    const r = await fetch(`${flowfleet}/api/devices/${toggles[0].dst}`, {headers: {Authorization: 'Bearer ' + token}});
    const d = await r.json();
    const key = `${toggles[0].method.split('.')[0].toLowerCase()}:${toggles[0].params.id}`;
    const out = d.status?.[key]?.output;
    check(out === !wasOn, `FlowFleet's REST shows ${key}.output = ${out}`);
}
// The "Create Action -> Send RPC" dialog: one device, preset Shelly -> GetStatus, Next, Next; "Run now" is on by default
// (FM's SendRpcModal: runNow = ref(true)) -- clicking it would turn it off, which is what an earlier script did.
await page.keyboard.press('Escape');
await click(page.getByText('Create Action', {exact: true}));
await click(page.locator('.widget-grid-devices > *').first());
await click(page.getByText('Send RPC to 1 devices', {exact: true}));
await click(page.locator('[data-dropdown-toggle="dropdown"]').first());
await click(page.locator('li').filter({hasText: /^Shelly$/}).first());
const next = () => page.getByRole('button', {name: 'Next', exact: true}).or(page.getByRole('button', {name: 'Finish', exact: true}));
for (let i = 0; i < 2; i++) await click(next());
check(await page.getByRole('checkbox', {name: 'Run now'}).isChecked(), '"Run now" is on');
const before = seen.sent.length;
await click(next());
check(await until(() => seen.sent.slice(before).some((m) => m.dst !== 'FLEET_MANAGER' && m.method === 'Shelly.GetStatus'), 15_000), 'Send RPC dialog sent Shelly.GetStatus to the device');
const rpc = seen.sent.slice(before).find((m) => m.method === 'Shelly.GetStatus');
check(rpc && await until(() => seen.answers.some((a) => a.id === rpc.id && a.result?.sys), 15_000), 'and the device\'s status came back to the UI');
await page.screenshot({path: process.env.SHOT ?? 'fm-ui.png'});
await browser.close();
process.exit(failed ? 1 : 0);
