// The power-flow picture: PV, grid, home and battery around the house connection, a line to
// each with moving dots in the direction the energy flows (faster for more power).
// Signs as in the API: grid_w + import / − export, battery_w + discharge / − charge.
import { html } from './html.js';
import { t } from './i18n.js';
import { watts } from './fmt.js';
import { icon } from './icons.js';

const HUB = [180, 150];
const NODES = {
  pv: { at: [180, 46], label: [228, 38], anchor: 'start' },
  grid: { at: [50, 150], label: [50, 204], anchor: 'middle' },
  home: { at: [310, 150], label: [310, 204], anchor: 'middle' },
  battery: { at: [180, 254], label: [228, 240], anchor: 'start' },
};
const R = 30;
const IDLE_W = 5;

// Into the hub: PV always, grid on import, battery on discharge; out of it: home, export, charge.
function direction(name, w) {
  if (!(Math.abs(w) >= IDLE_W)) return 0;
  if (name === 'home') return -1;
  if (name === 'pv') return 1;
  return w > 0 ? 1 : -1;
}

function speed(w) {
  const a = Math.abs(w);
  return a > 800 ? 0.6 : a > 300 ? 1 : a > 100 ? 1.6 : 2.4;
}

function link(name, w) {
  const [nx, ny] = NODES[name].at;
  const [hx, hy] = HUB;
  const len = Math.hypot(hx - nx, hy - ny);
  const ux = (hx - nx) / len, uy = (hy - ny) / len;
  const a = [nx + ux * (R + 4), ny + uy * (R + 4)], b = [hx - ux * 8, hy - uy * 8];
  const dir = direction(name, w);
  const [p, q] = dir >= 0 ? [a, b] : [b, a];
  const d = `M${p[0].toFixed(1)} ${p[1].toFixed(1)}L${q[0].toFixed(1)} ${q[1].toFixed(1)}`;
  return html`<g class=${`link ${name}`}>
    <path class="track" d=${d} />
    ${dir !== 0 && html`<path class="dots" d=${d} style=${`animation-duration:${speed(w)}s`} />
      <path class="arrow" d=${d} marker-end="url(#flow-arrow)" />`}
  </g>`;
}

function label(name, value, text, dirText) {
  const { label: [x, y], anchor } = NODES[name];
  return html`<text x=${x} y=${y} text-anchor=${anchor} class="flow-label name">${text}</text>
    <text x=${x} y=${y + 21} text-anchor=${anchor} class="flow-value" data-testid=${`flow-${name}-w`}
      data-value=${value == null ? '' : Math.round(value)}>${watts(value == null ? null : Math.abs(value))}</text>
    ${dirText && html`<text x=${x} y=${y + 38} text-anchor=${anchor} class="flow-label" data-testid=${`flow-${name}-dir`}>${dirText}</text>`}`;
}

export function FlowPicture({ status }) {
  const s = status || {};
  const grid = s.grid_w, bat = s.battery_w;
  const gridDir = grid == null || Math.abs(grid) < IDLE_W ? '' : grid > 0 ? t('flow.import') : t('flow.export');
  const batDir = bat == null || Math.abs(bat) < IDLE_W ? '' : bat > 0 ? t('flow.discharging') : t('flow.charging');
  const summary = t('flow.aria', {
    pv: watts(s.pv_w), home: watts(s.home_w),
    grid: `${watts(grid == null ? null : Math.abs(grid))} ${gridDir}`.trim(),
    battery: `${watts(bat == null ? null : Math.abs(bat))} ${batDir}`.trim(),
  });
  const node = (name, cls) => {
    const [x, y] = NODES[name].at;
    return html`<g class=${`node ${cls}`} transform=${`translate(${x} ${y})`}>
      <circle r=${R} />${icon(name, -13, -13, 26)}
    </g>`;
  };
  return html`<figure class="flow" aria-label=${t('live.flow')}>
    <svg viewBox="0 0 360 300" role="img" aria-label=${summary} focusable="false">
      <defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="6" refY="5" markerWidth="5" markerHeight="5"
        orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" /></marker></defs>
      ${link('pv', s.pv_w)}${link('grid', grid)}${link('home', s.home_w)}${link('battery', bat)}
      <circle class="hub" cx=${HUB[0]} cy=${HUB[1]} r="7" />
      ${node('pv', 'pv')}${node('grid', 'grid')}${node('home', 'home')}${node('battery', 'battery')}
      ${label('pv', s.pv_w, t('flow.pv'))}
      ${label('grid', grid, t('flow.grid'), gridDir)}
      ${label('home', s.home_w, t('flow.home'))}
      ${label('battery', bat, t('flow.battery'), batDir)}
    </svg>
  </figure>`;
}

// The battery's state of charge as a ring.
export function SocGauge({ soc }) {
  const r = 44, c = 2 * Math.PI * r;
  const v = soc == null ? 0 : Math.max(0, Math.min(100, soc));
  return html`<div class="gauge" role="meter" aria-valuemin="0" aria-valuemax="100"
      aria-valuenow=${soc == null ? undefined : Math.round(v)} aria-label=${t('live.soc')}>
    <svg viewBox="0 0 100 100" aria-hidden="true">
      <circle class="ring-bg" cx="50" cy="50" r=${r} />
      <circle class="ring" cx="50" cy="50" r=${r} stroke-dasharray=${`${(c * v) / 100} ${c}`}
        transform="rotate(-90 50 50)" />
    </svg>
    <span class="gauge-value" data-testid="soc-pct">${soc == null ? '– %' : `${Math.round(v)} %`}</span>
  </div>`;
}
