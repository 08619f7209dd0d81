// Savings per period as bar groups (one per month or day, labelled as such): saved against no
// plant, against no battery, and what planning gained over a plain self-consumption battery.
// Plain HTML bars: a single month is one full group, never a lone dot on a time axis.
import { html } from '../html.js';
import { t } from '../i18n.js';
import { fmtDay, fmtMonthShort, localToMs, money } from '../fmt.js';

const SERIES = [
  ['pv', 'saved_vs_no_pv', 'savings.vsNoPv'],
  ['battery', 'saved_vs_no_battery', 'savings.vsNoBattery'],
  ['planning', 'saved_vs_self_consumption', 'savings.vsSelf'],
];

export function periodLabel(period) {
  const [y, m, d] = period.split('-').map(Number);
  if (!d) {
    const label = fmtMonthShort(localToMs(y, m, 15));
    return y === new Date().getFullYear() ? label : `${label} ${String(y).slice(2)}`;
  }
  return fmtDay(localToMs(y, m, d, 12));
}

export function PeriodBars({ periods, currency, monthly }) {
  const max = Math.max(0.01, ...periods.flatMap((p) => SERIES.map(([, k]) => Math.abs(p[k] || 0))));
  return html`<div>
    <div class="month-bars" data-testid="savings-bars" data-group=${monthly ? 'month' : 'day'} role="img"
      aria-label=${monthly ? t('savings.perMonth') : t('savings.perDay')}>
      ${periods.map((p) => html`<div class="month-bar" key=${p.period} data-testid="savings-period" data-period=${p.period}>
        <div class="bars">${SERIES.map(([cls, key, label]) => html`<span class=${`bar-v ${cls}`} data-testid=${`bar-${cls}`}
          data-value=${p[key]} title=${`${t(label)}: ${money(p[key], currency)}`}
          style=${`height:${p[key] > 0 ? Math.max(2, Math.round((p[key] / max) * 140)) : 0}px`}></span>`)}</div>
        <span class="period-label" data-testid="period-label">${periodLabel(p.period)}</span>
      </div>`)}
    </div>
    <ul class="legend-inline">${SERIES.map(([cls, , label]) => html`<li><span class=${`swatch bar-v ${cls}`}></span>${t(label)}</li>`)}</ul>
  </div>`;
}
