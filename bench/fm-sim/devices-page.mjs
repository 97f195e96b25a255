// FlowFleet's own Devices page with Shelly fleet manager's simulated devices, in headless Chromium by mouse and keyboard:
// log in, open Devices, and for every device: type its id into the search box, find its card, use the card's control
// (switch toggle, cover stop, light switch) and wait for the card to report the command done — then check over REST that
// the device really changed. Devices whose card has no direct control (sensors) are counted apart.
// Usage: node devices-page.mjs FLOWFLEET_URL USER PASSWORD DEVICES
import {chromium} from 'playwright-core';

const [base, user, password, devicesArg] = process.argv.slice(2);
const want = Number(devicesArg);
const browser = await chromium.launch({executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox']});
const context = await browser.newContext({viewport: {width: 1400, height: 900}});
const page = await context.newPage();
async function click(locator) {
    await locator.waitFor({state: 'visible', timeout: 20_000});
    await locator.scrollIntoViewIfNeeded();
    const box = await locator.boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}
const status = async (id) => (await (await page.request.get(`${base}/api/devices/${encodeURIComponent(id)}`)).json()).status ?? {};

await page.goto(base + '/');
await click(page.locator('input[name=username]'));
await page.keyboard.type(user);
await click(page.locator('input[name=password]'));
await page.keyboard.type(password);
await page.keyboard.press('Enter');
await page.waitForSelector('[data-testid=editor][data-ready=true]', {timeout: 60_000});
await click(page.locator("a:has-text('Devices')").first());
await page.waitForSelector('[data-testid=devices-page][data-ready=true]', {timeout: 30_000});

const list = await (await page.request.get(`${base}/api/devices?limit=10000`)).json();
const devices = (Array.isArray(list) ? list : list.items ?? list.devices ?? []).filter((d) => d.online);
console.log(`devices online (REST): ${devices.length} of ${want}`);
const result = {switch: 0, cover: 0, light: 0, noControl: [], failed: []};
const started = Date.now();
for (const d of devices) {
    const search = page.locator('input[data-testid=device-search], [data-testid=device-search] input').first();
    await click(search);
    await page.keyboard.press('Control+A');
    await page.keyboard.type(d.id);
    const card = page.locator(`[data-testid=device-card][data-id='${d.id}']`);
    try {
        await page.waitForFunction((id) => { const c = [...document.querySelectorAll('[data-testid=device-card]')]; return c.length === 1 && c[0].dataset.id === id; }, d.id, {timeout: 15_000});
        const before = await status(d.id);
        const toggle = card.locator('input[data-testid=switch-toggle]').first();
        const stop = card.locator('button[title=stop]').first();
        const light = card.locator('label:has-text("light 0") input').first();
        let kind, verify;
        if (await toggle.count()) {
            kind = 'switch';
            const was = before['switch:0']?.output === true;
            await click(toggle);
            verify = async () => (await status(d.id))['switch:0']?.output === !was;
        } else if (await stop.count()) {
            kind = 'cover';
            await click(stop);
            verify = async () => (await status(d.id))['cover:0']?.state === 'stopped';
        } else if (await light.count()) {
            kind = 'light';
            const was = before['light:0']?.output === true;
            await click(light);
            verify = async () => (await status(d.id))['light:0']?.output === !was;
        } else {
            result.noControl.push(`${d.id} (${d.app ?? d.model ?? ''})`);
            continue;
        }
        await card.locator('[data-testid=command-state]:has-text("✓")').waitFor({timeout: 15_000});
        let ok = false;
        for (let i = 0; i < 50 && !(ok = await verify()); i++) await page.waitForTimeout(100);
        if (ok) result[kind]++; else result.failed.push(`${d.id}: ${kind} done on the card but REST shows no change`);
    } catch (e) {
        result.failed.push(`${d.id}: ${String(e.message).split('\n')[0]}`);
    }
}
const controlled = result.switch + result.cover + result.light;
console.log(`controlled from the Devices page: ${controlled} (switch ${result.switch}, cover ${result.cover}, light ${result.light}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`no control on the card: ${result.noControl.length}${result.noControl.length ? ' — ' + result.noControl.slice(0, 10).join(', ') : ''}`);
console.log(`failed: ${result.failed.length}${result.failed.length ? '\n  ' + result.failed.slice(0, 20).join('\n  ') : ''}`);
await page.screenshot({path: process.env.SHOT ?? 'devices-page.png'});
await browser.close();
process.exit(result.failed.length || devices.length < want ? 1 : 0);
