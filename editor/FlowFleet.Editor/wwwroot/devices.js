// Devices pages: how many cards fit across the page, reported back whenever its width changes (Blazor lays out the rows).
export function observeColumns(el, dotnet, minWidth, gap) {
    let last = 0;
    const report = () => {
        const n = Math.max(1, Math.floor((el.clientWidth + gap) / (minWidth + gap)));
        if (n !== last) {
            last = n;
            dotnet.invokeMethodAsync('SetColumns', n);
        }
    };
    const observer = new ResizeObserver(report);
    observer.observe(el);
    report();
    return { dispose: () => observer.disconnect() };
}
