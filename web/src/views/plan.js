// Plan: the battery plan in force (GET /api/v1/plan) for the next hours, as three charts with
// one shared cursor: prices, power (solar and load forecast, planned battery power) and the
// expected state of charge with the plan's mode per slot.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { fmtDateTime, fmtTime, kwh, localDate, money, num, parseTime, pct, pricePerKwh, serverNow, watts } from '../fmt.js';
import { Chart, baseOptions } from '../chart.js';
import { getOptional } from '../api.js';
import { batteryState, reasonText } from '../components/explain.js';
import { priceLevel } from './live.js';

// The plan's decisions: each change of mode (or of its reason) from the slot in force on, with
// its time, price (badged against that day's spread) and why.
export function planDecisions(plan, now) {
  const out = [];
  const slotMs = (plan.slot_s || 900) * 1000;
  const spread = {};
  plan.ts.forEach((ts, i) => {
    const day = localDate(ts);
    const p = plan.price[i];
    if (p == null) return;
    spread[day] = spread[day] ? [Math.min(spread[day][0], p), Math.max(spread[day][1], p)] : [p, p];
  });
  let last = null;
  plan.ts.forEach((ts, i) => {
    if (ts + slotMs <= now) return;
    const code = plan.reason?.[i]?.code || '';
    const state = batteryState(plan.reason?.[i], plan.mode[i]);
    const key = `${state}|${code}`;
    if (key === last) return;
    last = key;
    const [min, max] = spread[localDate(ts)] || [null, null];
    out.push({ ts, mode: plan.mode[i], state, reason: plan.reason?.[i] || null, price: plan.price[i],
      level: priceLevel(plan.price[i], min, max) });
  });
  return out;
}

// How clean the grid is now against the day's spread: low CO2 (or a high renewable share) is
// "clean"; the traffic light speaks for itself.
function signalLevel(kind, v, vals) {
  const level = priceLevel(v, Math.min(...vals), Math.max(...vals));
  const good = { cheap: 'low', normal: 'mid', expensive: 'high' }[level];
  if (kind === 'co2_g_per_kwh') return good;
  if (kind === 'renewable_share_pct' || kind === 'green_index') return { low: 'high', mid: 'mid', high: 'low' }[good];
  return null;
}

// The grid signal (GET /api/v1/signal): CO2 intensity, renewable share or traffic light per
// slot, from the configured signal providers; fetched with each plan.
function SignalCard({ planId, themeKey }) {
  const [res, setRes] = useState(undefined);
  useEffect(() => {
    let dead = false;
    getOptional('/signal').catch(() => null).then((r) => { if (!dead) setRes(r); });
    return () => { dead = true; };
  }, [planId]);
  const series = (res?.series || []).filter((x) => x.ts?.length);
  if (res === undefined) return null;
  if (!series.length) return html`<article class="card signal" data-testid="plan-signal"><h2>${t('signal.title')}</h2>
    <p class="hint" data-testid="signal-none">${t('signal.none')}</p></article>`;
  const now = serverNow();
  return html`<article class="card signal" data-testid="plan-signal"><h2>${t('signal.title')}</h2>
    ${series.map((x) => {
      const vals = x.value.filter((v) => v != null);
      const i = x.ts.findIndex((ts) => ts <= now && now < ts + 900000);
      const v = i >= 0 ? x.value[i] : null;
      const label = tOr(`signal.kind.${x.kind}`, x.kind);
      return html`<div key=${`${x.kind}-${x.provider}`} data-testid=${`signal-${x.kind}`}>
        <h3>${label} <span class="hint">(${x.provider}${x.unit ? `, ${x.unit}` : ''})</span></h3>
        ${v != null && html`<p data-testid="signal-now">${num(v, 0)} ${x.unit}${signalLevel(x.kind, v, vals) ? ` · ${t(`signal.${signalLevel(x.kind, v, vals)}`)}` : ''}</p>`}
        <${Chart} testid=${`signal-chart-${x.kind}`} label=${label} height=${120} deps=${[themeKey, planId, x.ts.length]}
          data=${[x.ts.map((ms) => ms / 1000), x.value]}
          make=${(U) => ({ ...baseOptions(U, { showNow: true, yFormat: (y) => num(y, 0) }),
            cursor: { sync: { key: 'plan' }, points: { size: 6 } },
            series: [{}, { label, stroke: cssVar('--c-pv'), width: 2, paths: U.paths.stepped({ align: 1 }), value: (u, y) => (y == null ? '–' : `${num(y, 0)} ${x.unit}`) }] })} />
      </div>`;
    })}
  </article>`;
}

// Colours of the battery's states (components/explain.js: one vocabulary with Live).
const STATE_COLORS = { charging: '--c-battery', grid_charging: '--c-grid', discharging: '--c-pv', holding: '--muted', resting: '--chart-grid' };
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
          ctx.fillStyle = cssVar(STATE_COLORS[batteryState(plan.reason?.[i], plan.mode[i])] || '--muted');
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
  const decisions = planDecisions(plan, serverNow()).slice(0, 12);
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
        ${Object.entries(STATE_COLORS).map(([m, c]) => html`<li><span class="swatch" style=${`background:var(${c})`}></span>${t(`bstate.${m}`)}</li>`)}
      </ul>
    </div>
    <article class="card decisions" data-testid="plan-decisions">
      <h2>${t('plan.decisions')}</h2>
      <ol class="list">${decisions.map((d) => html`<li key=${d.ts} data-testid="plan-decision" data-mode=${d.mode} data-state=${d.state} data-reason=${d.reason?.code || ''}>
        <time>${fmtTime(d.ts)}</time> <strong>${t(`bstate.${d.state}`)}</strong>
        <span class=${`chip ${d.level}`} data-testid="decision-price" data-level=${d.level}>${pricePerKwh(d.price, currency)} · ${t(`price.${d.level}`)}</span>
        <span class="hint">${d.reason ? reasonText(d.reason, currency) : ''}</span></li>`)}</ol>
    </article>
    <${SignalCard} planId=${plan.id} themeKey=${themeKey} />
  </section>`;
}
