// Keeps un-deployed work in this browser (localStorage), so a page reload, a dropped connection or a server restart loses
// nothing, and asks before the page is left with un-deployed changes. The reconnect banner (reconnect.js) sets
// window.flowfleetConnected; while disconnected the draft is already saved, so leaving the page does not ask.
let dirty = false;

window.addEventListener("beforeunload", e => {
  if (dirty && window.flowfleetConnected !== false) {
    e.preventDefault();
    e.returnValue = "";
  }
});

export function setDirty(value) { dirty = !!value; }

export function saveDraft(key, text) {
  try { localStorage.setItem(key, text); return true; } catch { return false; }
}

export function loadDraft(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

export function clearDraft(key) {
  try { localStorage.removeItem(key); } catch { /* storage unavailable: nothing to clear */ }
}

/** Scrolls the flow tab strip (only it, never the page) so that the active tab is in view. */
export function showActiveTab(strip) {
  const tab = strip && strip.querySelector(".ff-tab.active");
  if (!tab) { return; }
  const s = strip.getBoundingClientRect(), r = tab.getBoundingClientRect();
  if (r.left < s.left) { strip.scrollLeft -= s.left - r.left; }
  else if (r.right > s.right) { strip.scrollLeft += r.right - s.right; }
}
