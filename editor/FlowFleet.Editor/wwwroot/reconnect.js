// Blazor's reconnect UI as a non-blocking banner (Node-RED shows a notice, not a modal): Blazor finds the element with id
// components-reconnect-modal and reports its states here. The editor's un-deployed work is already in localStorage, so when
// the server no longer knows this circuit (it restarted) the page reloads and offers the work back.
(() => {
  const banner = document.getElementById("components-reconnect-modal");
  if (!banner) { return; }
  let timer = null;
  const reload = () => { window.flowfleetConnected = false; location.reload(); };
  const retry = async () => {
    try {
      if (!await Blazor.reconnect()) { reload(); }
    } catch { /* still unreachable: keep waiting */ }
  };
  banner.addEventListener("components-reconnect-state-changed", e => {
    const state = e.detail.state;
    banner.dataset.state = state;
    window.flowfleetConnected = state === "hide";
    clearInterval(timer);
    if (state === "rejected") { reload(); }
    else if (state === "failed") { timer = setInterval(retry, 3000); }
  });
  document.getElementById("ff-reconnect-retry")?.addEventListener("click", retry);
})();
