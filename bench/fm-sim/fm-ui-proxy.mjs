// Serves Shelly fleet manager's built web UI (its frontend/dist) on one origin and forwards what the UI calls — POST /rpc,
// /rpc/*, /health and its websocket at / — to FlowFleet, as FM's own server does for its UI. Node built-ins only.
// Usage: node fm-ui-proxy.mjs DIST_DIR LISTEN_PORT FLOWFLEET_PORT
import http from 'node:http';
import net from 'node:net';
import {readFile} from 'node:fs/promises';
import path from 'node:path';

const [dist, listenPort, targetPort] = process.argv.slice(2);
const types = {'.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.woff2': 'font/woff2', '.ttf': 'font/ttf'};
const forwarded = (url) => url === '/rpc' || url.startsWith('/rpc/') || url.startsWith('/health');

const server = http.createServer(async (req, res) => {
    if (forwarded(req.url)) {
        const upstream = http.request({host: '127.0.0.1', port: targetPort, path: req.url, method: req.method, headers: req.headers}, (r) => {
            res.writeHead(r.statusCode, r.headers);
            r.pipe(res);
        });
        upstream.on('error', () => { res.writeHead(502); res.end(); });
        req.pipe(upstream);
        return;
    }
    const file = path.join(dist, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    try {
        const body = await readFile(file.startsWith(dist) && path.extname(file) ? file : path.join(dist, 'index.html'));
        res.writeHead(200, {'Content-Type': types[path.extname(file)] ?? 'text/html'});
        res.end(body);
    } catch {
        res.writeHead(200, {'Content-Type': 'text/html'});
        res.end(await readFile(path.join(dist, 'index.html')));
    }
});
// The UI's websocket (new WebSocket('ws://host', token)) goes through untouched, handshake and all.
server.on('upgrade', (req, socket, head) => {
    const upstream = net.connect(Number(targetPort), '127.0.0.1', () => {
        upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n` + Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n') + '\r\n\r\n');
        upstream.write(head);
        socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
});
server.listen(Number(listenPort), '127.0.0.1', () => console.log(`FM UI on http://127.0.0.1:${listenPort} -> FlowFleet :${targetPort}`));
