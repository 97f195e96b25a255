// FlowFleet flow canvas: pointer and keyboard work only. Blazor renders the SVG and owns the model; this module moves
// nodes and wires while a gesture lasts (no round trip per mousemove) and reports the result once at the end.
const GRID = 20;
// Double clicks are recognised here, not by the browser's dblclick: the pointer is captured on mouse-down (so a drag can
// leave the node), which retargets the browser's click/dblclick to the svg.
const DOUBLE_CLICK_MS = 500;
const state = new WeakMap();

export function attach(svg, dotnet) {
  const viewport = svg.querySelector("#ff-viewport");
  const s = { svg, viewport, dotnet, panX: 0, panY: 0, zoom: 1, gesture: null, lastClick: null, mouse: { x: 100, y: 100 }, splice: null };
  state.set(svg, s);
  applyView(s);

  svg.addEventListener("pointerdown", e => onDown(s, e));
  svg.addEventListener("pointermove", e => { s.mouse = toCanvas(s, e.clientX, e.clientY); onMove(s, e); });
  svg.addEventListener("pointerup", e => onUp(s, e));
  svg.addEventListener("contextmenu", e => {
    e.preventDefault();
    s.gesture = null;
    const r = svg.getBoundingClientRect();
    const p = toCanvas(s, e.clientX, e.clientY);
    s.mouse = p;
    const node = e.target.closest(".ff-node");
    const wire = !node && e.target.closest(".ff-wire");
    const target = node ? { kind: "node", id: node.dataset.id }
      : wire ? { kind: "wire", id: null, from: wire.dataset.from, port: parseInt(wire.dataset.port, 10), to: wire.dataset.to }
      : { kind: "canvas", id: null };
    dotnet.invokeMethodAsync("OnContextMenu", {
      kind: target.kind, id: target.id, from: target.from || null, port: target.port || 0, to: target.to || null,
      left: e.clientX - r.left, top: e.clientY - r.top, x: p.x, y: p.y,
    });
  });
  svg.addEventListener("wheel", e => {
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      const p = toCanvas(s, e.clientX, e.clientY);
      const factor = e.deltaY < 0 ? 1.1 : 1 / 1.1;
      s.zoom = Math.min(3, Math.max(0.2, s.zoom * factor));
      const r = svg.getBoundingClientRect();
      s.panX = e.clientX - r.left - p.x * s.zoom;
      s.panY = e.clientY - r.top - p.y * s.zoom;
    } else {
      s.panX -= e.deltaX;
      s.panY -= e.deltaY;
    }
    applyView(s);
  }, { passive: false });
  svg.addEventListener("dragover", e => {
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    markSplice(s, wireAt(s, e.clientX, e.clientY));
  });
  svg.addEventListener("dragleave", () => markSplice(s, null));
  svg.addEventListener("drop", e => {
    e.preventDefault();
    const wire = s.splice;
    markSplice(s, null);
    const type = e.dataTransfer.getData("application/x-flowfleet-node") || e.dataTransfer.getData("text/plain");
    if (!type) { return; }
    const p = toCanvas(s, e.clientX, e.clientY);
    dotnet.invokeMethodAsync("OnDrop", type, p.x, p.y, wireRef(wire));
  });
  const onKey = e => {
    const t = e.target;
    if (t && (t.closest("input, textarea, select, .cm-editor, .mud-dialog, .mud-popover, [contenteditable=true]"))) { return; }
    if (document.querySelector(".mud-dialog")) { return; }
    const ctrl = e.ctrlKey || e.metaKey;
    let key = null;
    if (e.key === "Delete" || e.key === "Backspace") { key = "delete"; }
    else if (e.key === "Enter" && !ctrl) { key = "enter"; }
    else if (e.key === "Escape") { key = "escape"; }
    else if (ctrl && "acxvzydf".includes(e.key.toLowerCase())) { key = "ctrl+" + e.key.toLowerCase(); }
    if (!key) { return; }
    e.preventDefault();
    const at = s.mouse;
    if (key === "ctrl+v" && navigator.clipboard && navigator.clipboard.readText) {
      navigator.clipboard.readText().then(text => dotnet.invokeMethodAsync("OnPaste", text, at.x, at.y))
        .catch(() => dotnet.invokeMethodAsync("OnPaste", null, at.x, at.y));
      return;
    }
    dotnet.invokeMethodAsync("OnKey", key).then(text => {
      if (text && navigator.clipboard && navigator.clipboard.writeText) { navigator.clipboard.writeText(text).catch(() => {}); }
    });
  };
  document.addEventListener("keydown", onKey);
  s.detach = () => document.removeEventListener("keydown", onKey);
}

export function detach(svg) {
  const s = state.get(svg);
  if (s && s.detach) { s.detach(); }
  state.delete(svg);
}

export function resetView(svg) {
  const s = state.get(svg);
  if (s) { s.panX = 0; s.panY = 0; s.zoom = 1; applyView(s); }
}

export function zoom(svg, factor) {
  const s = state.get(svg);
  if (s) { s.zoom = Math.min(3, Math.max(0.2, s.zoom * factor)); applyView(s); }
}

/** Pans so that a canvas point is in the middle of the view (search results, "reveal node"). */
export function reveal(svg, x, y) {
  const s = state.get(svg);
  if (!s) { return; }
  const r = svg.getBoundingClientRect();
  s.panX = r.width / 2 - x * s.zoom;
  s.panY = r.height / 2 - y * s.zoom;
  applyView(s);
}

export function copyText(text) {
  if (navigator.clipboard && navigator.clipboard.writeText) { return navigator.clipboard.writeText(text).then(() => true).catch(() => false); }
  return false;
}

export function readText() {
  if (navigator.clipboard && navigator.clipboard.readText) { return navigator.clipboard.readText().catch(() => null); }
  return null;
}

export function download(name, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function snap(v) { return Math.round(v / GRID) * GRID; }

function applyView(s) {
  s.viewport.setAttribute("transform", `translate(${s.panX},${s.panY}) scale(${s.zoom})`);
}

function toCanvas(s, clientX, clientY) {
  const r = s.svg.getBoundingClientRect();
  return { x: (clientX - r.left - s.panX) / s.zoom, y: (clientY - r.top - s.panY) / s.zoom };
}

function nodeEl(s, id) { return s.svg.querySelector(`.ff-node[data-id="${CSS.escape(id)}"]`); }

// A node element's transform is its top-left corner; data-x/data-y hold the model position.
function pos(el) {
  const m = /translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)/.exec(el.getAttribute("transform") || "");
  return m ? { x: parseFloat(m[1]), y: parseFloat(m[2]) } : { x: 0, y: 0 };
}

function portPoint(s, id, port, isInput) {
  const el = nodeEl(s, id);
  if (!el) { return null; }
  const p = pos(el);
  const w = parseFloat(el.dataset.w), h = parseFloat(el.dataset.h), outs = parseInt(el.dataset.outputs || "1", 10);
  if (isInput) { return { x: p.x, y: p.y + h / 2 }; }
  return { x: p.x + w, y: p.y + (outs <= 1 ? h / 2 : 10 + port * ((h - 20) / Math.max(1, outs - 1))) };
}

export function wirePath(a, b) {
  const dx = Math.max(40, Math.abs(b.x - a.x) / 2);
  return `M${a.x},${a.y} C${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`;
}

function redrawWires(s, ids) {
  s.svg.querySelectorAll(".ff-wire").forEach(w => {
    if (!ids.has(w.dataset.from) && !ids.has(w.dataset.to)) { return; }
    const a = portPoint(s, w.dataset.from, parseInt(w.dataset.port, 10), false);
    const b = portPoint(s, w.dataset.to, 0, true);
    if (a && b) {
      const d = wirePath(a, b);
      w.querySelectorAll("path").forEach(p => p.setAttribute("d", d));
    }
  });
}

/** The wire under a screen point (under whatever node is being dragged there). */
function wireAt(s, clientX, clientY) {
  for (const el of document.elementsFromPoint(clientX, clientY)) {
    const w = el.closest && el.closest(".ff-wire");
    if (w && s.svg.contains(w)) { return w; }
  }
  return null;
}

function markSplice(s, wire) {
  if (s.splice === wire) { return; }
  if (s.splice) { s.splice.classList.remove("splice"); }
  s.splice = wire;
  if (wire) { wire.classList.add("splice"); }
}

function wireRef(w) {
  return w ? { from: w.dataset.from, port: parseInt(w.dataset.port, 10), to: w.dataset.to } : null;
}

/** Node-RED splices only a lone node that has an input and an output and no wires yet. */
function canSplice(s, el) {
  if (el.dataset.inputs === "0" || el.dataset.outputs === "0") { return false; }
  const id = CSS.escape(el.dataset.id);
  return !s.svg.querySelector(`.ff-wire[data-from="${id}"], .ff-wire[data-to="${id}"]`);
}

function onDown(s, e) {
  if (e.button === 1 || (e.button === 0 && e.altKey)) {
    s.gesture = { kind: "pan", x: e.clientX, y: e.clientY, panX: s.panX, panY: s.panY };
    s.svg.setPointerCapture(e.pointerId);
    return;
  }
  if (e.button !== 0) { return; }
  s.svg.focus({ preventScroll: true });
  const port = e.target.closest(".ff-port-out");
  if (port) {
    const node = port.closest(".ff-node");
    const start = portPoint(s, node.dataset.id, parseInt(port.dataset.port, 10), false);
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("class", "ff-wire-drag");
    s.viewport.appendChild(path);
    s.gesture = { kind: "wire", from: node.dataset.id, port: parseInt(port.dataset.port, 10), start, path };
    s.svg.setPointerCapture(e.pointerId);
    e.stopPropagation();
    return;
  }
  if (e.target.closest(".ff-node-button")) { return; }
  const node = e.target.closest(".ff-node");
  if (node) {
    const id = node.dataset.id;
    let selected = Array.from(s.svg.querySelectorAll(".ff-node.selected")).map(n => n.dataset.id);
    if (e.shiftKey || e.ctrlKey) {
      s.dotnet.invokeMethodAsync("OnSelect", [id], true);
      if (!selected.includes(id)) { selected.push(id); }
    } else if (!selected.includes(id)) {
      selected = [id];
      s.dotnet.invokeMethodAsync("OnSelect", [id], false);
    }
    const start = toCanvas(s, e.clientX, e.clientY);
    const nodes = selected.map(nid => { const el = nodeEl(s, nid); return el ? { id: nid, el, origin: pos(el) } : null; }).filter(x => x);
    const spliceable = nodes.length === 1 && canSplice(s, nodes[0].el);
    s.gesture = { kind: "move", start, nodes, moved: false, ids: new Set(selected), clicked: id, modifier: e.shiftKey || e.ctrlKey, spliceable };
    s.svg.setPointerCapture(e.pointerId);
    return;
  }
  const wire = e.target.closest(".ff-wire");
  if (wire) {
    s.dotnet.invokeMethodAsync("OnSelectWire", wire.dataset.from, parseInt(wire.dataset.port, 10), wire.dataset.to);
    return;
  }
  const start = toCanvas(s, e.clientX, e.clientY);
  const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  rect.setAttribute("class", "ff-lasso");
  s.viewport.appendChild(rect);
  s.gesture = { kind: "lasso", start, rect, additive: e.shiftKey };
  s.svg.setPointerCapture(e.pointerId);
}

function onMove(s, e) {
  const g = s.gesture;
  if (!g) { return; }
  if (g.kind === "pan") {
    s.panX = g.panX + e.clientX - g.x;
    s.panY = g.panY + e.clientY - g.y;
    applyView(s);
    return;
  }
  const p = toCanvas(s, e.clientX, e.clientY);
  if (g.kind === "move") {
    const dx = p.x - g.start.x, dy = p.y - g.start.y;
    if (!g.moved && Math.abs(dx) + Math.abs(dy) < 3) { return; }
    g.moved = true;
    for (const n of g.nodes) { n.el.setAttribute("transform", `translate(${n.origin.x + dx},${n.origin.y + dy})`); }
    redrawWires(s, g.ids);
    if (g.spliceable) { markSplice(s, wireAt(s, e.clientX, e.clientY)); }
  } else if (g.kind === "wire") {
    g.path.setAttribute("d", wirePath(g.start, p));
  } else if (g.kind === "lasso") {
    const x = Math.min(p.x, g.start.x), y = Math.min(p.y, g.start.y);
    g.rect.setAttribute("x", x); g.rect.setAttribute("y", y);
    g.rect.setAttribute("width", Math.abs(p.x - g.start.x)); g.rect.setAttribute("height", Math.abs(p.y - g.start.y));
    g.box = { x, y, w: Math.abs(p.x - g.start.x), h: Math.abs(p.y - g.start.y) };
  }
}

function onUp(s, e) {
  const g = s.gesture;
  if (!g) { return; }
  // Browsers coalesce pointermoves: the last one before the release may never arrive, so finish the gesture at the
  // release point (a quick drag would otherwise end short of where the mouse let go).
  if (g.kind === "move" || g.kind === "lasso") { onMove(s, e); }
  s.gesture = null;
  if (g.kind === "move" && g.moved) {
    s.lastClick = null;
    const wire = s.splice;
    markSplice(s, null);
    const moves = g.nodes.map(n => {
      const p = pos(n.el), w = parseFloat(n.el.dataset.w), h = parseFloat(n.el.dataset.h);
      return { id: n.id, x: snap(p.x + w / 2) - w / 2, y: snap(p.y + h / 2) - h / 2, w, h };
    });
    for (const m of moves) { nodeEl(s, m.id)?.setAttribute("transform", `translate(${m.x},${m.y})`); }
    redrawWires(s, g.ids);
    // The model keeps centres (Node-RED's x/y); the transforms above are top-left corners.
    s.dotnet.invokeMethodAsync("OnMoved", moves.map(m => ({ id: m.id, x: m.x + m.w / 2, y: m.y + m.h / 2 })), wireRef(wire));
  } else if (g.kind === "move") {
    const now = performance.now();
    if (!g.modifier && s.lastClick && s.lastClick.id === g.clicked && now - s.lastClick.t < DOUBLE_CLICK_MS) {
      s.lastClick = null;
      s.dotnet.invokeMethodAsync("OnEdit", g.clicked);
    } else {
      s.lastClick = { id: g.clicked, t: now };
      // A plain click (no drag) on a node of a larger selection selects that node alone, as Node-RED does.
      if (!g.modifier && g.ids.size > 1) { s.dotnet.invokeMethodAsync("OnSelect", [g.clicked], false); }
    }
  } else if (g.kind === "wire") {
    g.path.remove();
    const target = document.elementFromPoint(e.clientX, e.clientY);
    const node = target && target.closest(".ff-node");
    if (node && node.dataset.inputs !== "0" && node.dataset.id !== g.from) {
      s.dotnet.invokeMethodAsync("OnWire", g.from, g.port, node.dataset.id);
    }
  } else if (g.kind === "lasso") {
    g.rect.remove();
    if (!g.box || (g.box.w < 3 && g.box.h < 3)) {
      s.dotnet.invokeMethodAsync("OnSelect", [], false);
      return;
    }
    const ids = Array.from(s.svg.querySelectorAll(".ff-node")).filter(n => {
      const p = pos(n), w = parseFloat(n.dataset.w), h = parseFloat(n.dataset.h);
      return p.x >= g.box.x && p.y >= g.box.y && p.x + w <= g.box.x + g.box.w && p.y + h <= g.box.y + g.box.h;
    }).map(n => n.dataset.id);
    s.dotnet.invokeMethodAsync("OnSelect", ids, g.additive);
  }
}
