// Line icons on a 24 x 24 grid (drawn for this app; stroke = currentColor).
import { html } from './html.js';

const PATHS = {
  pv: 'M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8M12 1v3M12 20v3M1 12h3M20 12h3M4.2 4.2l2.1 2.1M17.7 17.7l2.1 2.1M4.2 19.8l2.1-2.1M17.7 6.3l2.1-2.1',
  grid: 'M13 2L4 14h7l-1 8l9-12h-7z',
  home: 'M3 11l9-8l9 8M5 9.5V21h14V9.5M10 21v-6h4v6',
  battery: 'M3 7h16a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1zM23 11v2M6 10v4M10 10v4',
  live: 'M2 12h4l3-8l4 16l3-8h6',
  plan: 'M4 5h16v15H4zM4 10h16M8 3v4M16 3v4M8 14h3M13 14h3M8 17h3',
  history: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18M12 7v5l3 2',
  savings: 'M3 17l6-6l4 4l8-8M15 7h6v6',
  devices: 'M9 2v5M15 2v5M6 7h12v4a6 6 0 0 1-12 0zM12 17v5',
  notifications: 'M6 9a6 6 0 0 1 12 0c0 7 3 8 3 8H3s3-1 3-8M10 21a2 2 0 0 0 4 0',
  settings: 'M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M1 14h6M9 8h6M17 16h6',
  lock: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4M12 15v2',
  unlock: 'M6 11h12v10H6zM8 11V7a4 4 0 0 1 7.5-2M12 15v2',
  moon: 'M20 14.5A8.5 8.5 0 1 1 9.5 4a7 7 0 0 0 10.5 10.5z',
  sun: 'M12 7a5 5 0 1 0 0 10a5 5 0 1 0 0-10M12 1v2M12 21v2M1 12h2M21 12h2M4.2 4.2l1.4 1.4M18.4 18.4l1.4 1.4M4.2 19.8l1.4-1.4M18.4 5.6l1.4-1.4',
};

// An icon as an <svg>; inside another SVG give x, y and the size.
export function icon(name, x, y, size = 24) {
  return html`<svg class="icon" x=${x} y=${y} width=${size} height=${size} viewBox="0 0 24 24"
    aria-hidden="true" focusable="false"><path d=${PATHS[name]} /></svg>`;
}
