// The stored theme before the first paint, so a dark choice never flashes light. A file of
// its own, not inline, so that the Content-Security-Policy allows no inline script at all.
try { var t = localStorage.getItem('balkon.theme'); if (t) document.documentElement.dataset.theme = t; } catch (e) {}
