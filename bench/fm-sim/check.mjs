// Drives FlowFleet as Shelly fleet manager's clients do, while FM's simulator runs: logs in (POST /rpc User.Authenticate),
// waits for the devices (Device.List), opens FM's websocket (path /, token as subprotocol), subscribes, and controls every
// device over REST (/api/devices/{id}/rpc), the FM relay (dst = device) and FM's Device.Call — once at the start and once a
// minute — counting disconnects (Shelly.Disconnect / presence offline) until the run ends.
// Usage: node check.mjs BASE_URL USER PASSWORD DEVICES SECONDS [SERVER_PID]
import WebSocket from 'ws';
import {readFileSync} from 'node:fs';

const [base, user, password, devicesArg, secondsArg, pid] = process.argv.slice(2);
const want = Number(devicesArg);
const seconds = Number(secondsArg);
const rss = () => { try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024; } catch { return NaN; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const login = await (await fetch(`${base}/rpc`, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({method: 'User.Authenticate', params: {username: user, password}})})).json();
const token = login.access_token;
if (!token) throw new Error('login failed: ' + JSON.stringify(login));
const auth = {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'};

let devices = {};
const started = Date.now();
while (Date.now() - started < 300_000) {
    devices = await (await fetch(`${base}/rpc/Device.List`, {headers: auth})).json();
    if (Object.values(devices).filter((d) => d.presence === 'online').length >= want) break;
    await sleep(1000);
}
const ids = Object.keys(devices).filter((id) => devices[id].presence === 'online');
console.log(`online: ${ids.length}/${want} after ${((Date.now() - started) / 1000).toFixed(1)} s (Device.List)`);

// What to send to show a device is controllable: toggle an output where there is one, else read its status.
function command(d) {
    const keys = Object.keys(d.status ?? {});
    const pick = (type, method) => { const k = keys.find((x) => x.startsWith(type + ':')); return k ? {method, params: {id: Number(k.split(':')[1])}} : null; };
    return pick('switch', 'Switch.Toggle') ?? pick('light', 'Light.Toggle') ?? pick('cover', 'Cover.Stop') ?? {method: 'Shelly.GetStatus', params: {}};
}

const ws = new WebSocket(base.replace('http', 'ws') + '/', token);
const waiting = new Map();
let nextId = 100;
const counts = {disconnect: 0, offline: 0, connect: 0, status: 0};
ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString());
    if (f.method === 'Shelly.Disconnect') counts.disconnect++;
    else if (f.method === 'Shelly.Presence' && f.params.presence === 'offline') counts.offline++;
    else if (f.method === 'Shelly.Connect') counts.connect++;
    else if (f.method === 'Shelly.Status') counts.status++;
    else if (f.id !== undefined && waiting.has(f.id)) { waiting.get(f.id)(f); waiting.delete(f.id); }
});
await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
const call = (frame) => new Promise((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => { waiting.delete(id); resolve({error: {code: 'timeout'}}); }, 30_000);
    waiting.set(id, (f) => { clearTimeout(timer); resolve(f); });
    ws.send(JSON.stringify({...frame, id}));
});
const sub = await call({jsonrpc: '2.0', src: 'bench', dst: 'FLEET_MANAGER', method: 'FleetManager.Subscribe', params: {events: ['Shelly.Connect', 'Shelly.Disconnect', 'Shelly.Presence', 'Shelly.Status']}});
console.log(`subscribed: ${JSON.stringify(sub.result)}`);

async function round(label) {
    const ok = {rest: 0, relay: 0, deviceCall: 0};
    const failures = [];
    // 16 devices at a time: a client holding hundreds of HTTP connections at once would meet the server's connection budget.
    const queue = [...ids];
    await Promise.all(Array.from({length: 16}, async () => { for (let id = queue.shift(); id !== undefined; id = queue.shift()) await control(id); }));
    console.log(`${label}: controlled over REST ${ok.rest}/${ids.length}, FM relay ${ok.relay}/${ids.length}, FM Device.Call ${ok.deviceCall}/${ids.length}; RSS ${rss().toFixed(0)} MiB`);
    for (const f of failures.slice(0, 10)) console.log('  failed: ' + f);

    async function control(id) {
        const {method, params} = command(devices[id]);
        const r = await fetch(`${base}/api/devices/${id}/rpc`, {method: 'POST', headers: auth, body: JSON.stringify({method, params})});
        if (r.ok) ok.rest++; else failures.push(`${id} REST ${r.status} ${await r.text()}`);
        const relay = await call({src: 'bench', dst: id, method, params});
        if (relay.result !== undefined && relay.src === id && relay.dst === 'bench') ok.relay++; else failures.push(`${id} relay ${JSON.stringify(relay.error ?? relay)}`);
        const dc = await call({jsonrpc: '2.0', src: 'bench', dst: 'FLEET_MANAGER', method: 'Device.Call', params: {shellyID: id, method, params}});
        if (dc.result !== undefined) ok.deviceCall++; else failures.push(`${id} Device.Call ${JSON.stringify(dc.error)}`);
    }
}

await round('t=0');
const end = Date.now() + seconds * 1000;
let minute = 1;
while (Date.now() < end) {
    await sleep(Math.min(60_000, end - Date.now()));
    if (Date.now() < end) await round(`t=${minute++} min`);
}
const list = await (await fetch(`${base}/rpc/Device.List`, {headers: auth})).json();
const online = Object.values(list).filter((d) => d.presence === 'online').length;
await round('end');
console.log(`end: ${online}/${want} online; during the run ${counts.disconnect} Shelly.Disconnect, ${counts.offline} presence offline, ${counts.connect} Shelly.Connect, ${counts.status} Shelly.Status events`);
ws.close();
process.exit(online >= want && counts.disconnect === 0 ? 0 : 1);
