// Plan: the battery plan in force (GET /api/v1/plan) for the next hours, as three charts with
// one shared cursor: prices, power (solar and load forecast, planned battery power) and the
// expected state of charge with the plan's mode per slot.
import { useMemo } from 'preact/hooks';
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { fmtDateTime, kwh, money, num, parseTime, pct, watts } from '../fmt.js';
import { Chart, baseOptions } from '../chart.js';

const MODE_COLORS = { charge: '--c-battery', grid_charge: '--c-grid', discharge: '--c-pv', hold: '--muted', idle: '--chart-grid' };
const cssVar = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();

function modeStripPlugin(plan) {
  return {
    hooks: {
      draw: [(u) => {
        const { ctx, bbox } = u;
        const h = 8 * devicePixelRatio;
        const slot = plan.slot_s || 900;
        ctx.save();
        ctx.globalAlpha = 0.85;
        plan.ts.forEach((ms, i) => {
          const x0 = u.valToPos(ms / 1000, 'x', true), x1 = u.valToPos(ms / 1000 + slot, 'x', true);
          ctx.fillStyle = cssVar(MODE_COLORS[plan.mode[i]] || '--muted');
          ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), h);
        });
        ctx.restore();
      }],
    },
  };
}

const series = (label, color, fmt, extra = {}) => ({
  label, stroke: cssVar(color), width: 2, value: (u, v) => (v == null ? '–' : fmt(v)), ...extra,
});

export function PlanView({ s, themeKey }) {
  const plan = s.plan;
  const currency = plan?.currency || s.config?.tariff?.currency || 'EUR';
  const ct = currency === 'EUR' || currency === 'GBP';
  const priceFmt = (v) => (ct ? `${num(v * 100, 1)} ${currency === 'EUR' ? 'ct' : 'p'}` : num(v, 3));

  const data = useMemo(() => {
    if (!plan?.ts?.length) return null;
    const x = plan.ts.map((ms) => ms / 1000);
    const slot = plan.slot_s || 900;
    // Prices hold for their slot: repeat the last one at the horizon's end for the step line.
    const xe = [...x, x[x.length - 1] + slot];
    const ext = (a) => [...a, a[a.length - 1]];
    // The SoC is the expected value at each slot's end; the plan starts at soc_start_pct.
    const soc = [plan.summary?.soc_start_pct ?? null, ...plan.soc_pct];
    return {
      price: [xe, ext(plan.price)],
      power: [xe, ext(plan.pv_w), ext(plan.load_w), ext(plan.battery_w)],
      soc: [xe, soc],
    };
  }, [plan]);

  if (plan === undefined) return html`<section class="view" data-testid="view-plan"><h1 class="view-title">${t('nav.plan')}</h1><p>${t('common.loading')}</p></section>`;
  if (!plan || !data) {
    return html`<section class="view" data-testid="view-plan"><h1 class="view-title">${t('nav.plan')}</h1>
      <div class="card empty" data-testid="plan-empty"><p>${t('plan.empty')}</p></div></section>`;
  }
  const sum = plan.summary || {};
  const stepped = (U) => U.paths.stepped({ align: 1 });
  const deps = [themeKey, plan.id];
  const w = (v) => watts(v);

  return html`<section class="view plan" data-testid="view-plan" aria-labelledby="h-plan">
    <h1 id="h-plan" class="view-title">${t('nav.plan')}</h1>
    <article class="card">
      <dl class="stats grid3">
        <div class="stat"><dt>${t('plan.strategy')}</dt><dd data-testid="plan-strategy">${tOr(`strategy.${plan.strategy}`, plan.strategy)}</dd></div>
        <div class="stat"><dt>${t('plan.created')}</dt><dd>${fmtDateTime(parseTime(plan.created))}</dd>
          <dd class="hint">${tOr(`plan.reason.${sum.reason}`, sum.reason || '')}</dd></div>
        <div class="stat"><dt>${t('plan.expectedCost')}</dt><dd>${money(sum.plan?.energy_cost, currency)}</dd>
          <dd class="hint">${t('plan.vsNoBattery', { v: money(sum.no_battery?.energy_cost, currency) })}</dd></div>
        <div class="stat"><dt>${t('plan.savingVsNoBattery')}</dt><dd>${money(sum.expected_saving_vs_no_battery, currency)}</dd></div>
        <div class="stat"><dt>${t('plan.savingVsSelf')}</dt><dd>${money(sum.expected_saving_vs_self_consumption, currency)}</dd></div>
        <div class="stat"><dt>${t('plan.imports')}</dt><dd>${kwh(sum.plan?.import_wh)}</dd>
          <dd class="hint">${t('plan.dataShare', { prices: sum.price_slots ?? '–', pv: sum.pv_forecast_slots ?? '–', slots: sum.slots ?? plan.ts.length })}</dd></div>
      </dl>
    </article>
    <div class="card charts" data-testid="plan-chart">
      <h2>${t('plan.prices')}</h2>
      <${Chart} testid="plan-chart-price" label=${t('plan.prices')} data=${data.price} height=${150} deps=${deps}
        make=${(U) => ({ ...baseOptions(U, { showNow: true, yFormat: priceFmt }),
          cursor: { sync: { key: 'plan' }, points: { size: 6 } },
          series: [{}, series(t('plan.price'), '--c-grid', priceFmt, { paths: stepped(U), fill: cssVar('--c-grid-fill') })] })} />
      <h2>${t('plan.power')}</h2>
      <${Chart} testid="plan-chart-power" label=${t('plan.power')} data=${data.power} height=${200} deps=${deps}
        make=${(U) => ({ ...baseOptions(U, { showNow: true, yFormat: watts }),
          cursor: { sync: { key: 'plan' }, points: { size: 6 } },
          series: [{},
            series(t('plan.pvForecast'), '--c-pv', w, { paths: stepped(U), fill: cssVar('--c-pv-fill') }),
            series(t('plan.loadForecast'), '--c-home', w, { paths: stepped(U) }),
            series(t('plan.batteryPower'), '--c-battery', w, { paths: stepped(U), dash: [6, 3] })] })} />
      <p class="hint">${t('plan.batterySign')}</p>
      <h2>${t('plan.soc')}</h2>
      <${Chart} testid="plan-chart-soc" label=${t('plan.soc')} data=${data.soc} height=${150} deps=${deps}
        make=${(U) => ({ ...baseOptions(U, { showNow: true, yFormat: (v) => `${num(v)} %`, extraPlugins: [modeStripPlugin(plan)],
            scales: { y: { range: [0, 108] } } }),
          cursor: { sync: { key: 'plan' }, points: { size: 6 } },
          series: [{}, series(t('plan.socSeries'), '--c-battery', pct, { fill: cssVar('--c-battery-fill') })] })} />
      <ul class="legend-modes" aria-label=${t('plan.modes')}>
        ${Object.entries(MODE_COLORS).map(([m, c]) => html`<li><span class="swatch" style=${`background:var(${c})`}></span>${tOr(`mode.${m}`, m)}</li>`)}
      </ul>
    </div>
  </section>`;
}
