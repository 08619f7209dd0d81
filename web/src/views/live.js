// Live: the power flow, the battery with what it does and why (and what comes next), the price
// now, the control, and today's energy.
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { kwh, localDate, money, pricePerKwh, serverNow, fmtTime, fmtTimeSec, parseTime } from '../fmt.js';
import { FlowPicture, SocGauge } from '../flow.js';
import { WhyCard } from '../components/explain.js';
import { ControlCard } from '../components/control-card.js';

// The slot of a column-wise answer (ts = slot starts, Unix ms) that holds the instant.
export function slotIndex(body, ms) {
  if (!body?.ts?.length) return -1;
  const slotMs = (body.slot_s || 900) * 1000;
  for (let i = body.ts.length - 1; i >= 0; i--) {
    if (body.ts[i] <= ms) return ms < body.ts[i] + slotMs ? i : -1;
  }
  return -1;
}

// Where the current price stands in today's spread: the share of the way from today's lowest
// to its highest price; the lower third "cheap", the upper third "expensive". Relative to the
// spread, not to the share of cheaper slots, so with a day/night tariff the day price is
// "expensive" and the night price "cheap" (however many hours each has); a flat day is "normal".
export function priceLevel(value, min, max) {
  if (value == null || !(max - min > 0.0005)) return 'normal';
  const at = (value - min) / (max - min);
  return at < 1 / 3 ? 'cheap' : at < 2 / 3 ? 'normal' : 'expensive';
}

export function priceNow(prices, now) {
  const i = slotIndex(prices, now);
  if (i < 0) return null;
  const day = localDate(now);
  const today = prices.ts.map((ts, k) => [ts, prices.price[k]])
    .filter(([ts, p]) => p != null && localDate(ts) === day).map(([, p]) => p);
  const value = prices.price[i];
  const min = Math.min(...today), max = Math.max(...today);
  const level = today.length >= 2 ? priceLevel(value, min, max) : prices.summary?.now_level || 'normal';
  return { value, level, min, max,
    avg: today.length ? today.reduce((a, b) => a + b, 0) / today.length : null };
}

export function planModeNow(plan, now) {
  const i = slotIndex(plan, now);
  if (i >= 0) return { mode: plan.mode[i], battery_w: plan.battery_w[i] };
  return plan?.now ? { mode: plan.now.mode, battery_w: plan.now.battery_w } : null;
}

function Stat({ testid, label, value, hint }) {
  return html`<div class="stat"><dt>${label}</dt>
    <dd data-testid=${testid}>${value}</dd>${hint && html`<dd class="hint">${hint}</dd>`}</div>`;
}

// One appliance's advice in the page's language, from the fields of GET /api/v1/recommendations
// (the API's own `sentence` is English; it goes to the title).
export function recommendationText(r, computedMs) {
  const start = parseTime(r.start), end = parseTime(r.end);
  const vars = { name: r.name, time: fmtTime(start), end: fmtTime(end), start: fmtTime(start),
    latest: fmtTime(parseTime(r.latest)), saving: money(r.saving, r.currency) };
  if (r.status === 'no_fit') return t('rec.noFit', vars);
  if (r.status === 'running') return t('rec.running', vars);
  if (r.status === 'done') return t('rec.done', vars);
  if (r.status !== 'ok' || start == null) return t('rec.noData', vars);
  if (r.saving >= 0.005) return t('rec.startAt', vars);
  return start <= (computedMs ?? start) ? t('rec.startNow', vars) : t('rec.startAtBest', vars);
}

function RecommendationsCard({ recs }) {
  const list = recs?.recommendations;
  if (!list?.length) return null;
  const computed = parseTime(recs.computed);
  return html`<article class="card rec-card" aria-labelledby="h-rec" data-testid="recommendations">
    <h2 id="h-rec">${t('rec.title')}</h2>
    <ul class="rec-list">${list.map((r) => html`<li key=${r.id} data-testid=${`recommendation-${r.id}`}
      data-status=${r.status} title=${r.sentence}>${recommendationText(r, computed)}${r.auto_start
        && html` <span class="chip">${t('rec.auto')}</span>`}</li>`)}</ul>
  </article>`;
}

// What the site lacks for BalkonSolar to do its work, each with where to add it: no devices
// (nothing measured), no battery (the plan holds none), no modules (the plan assumes no solar).
// From the config and the plan's summary, so it says what the plan was really made with.
export function setupGaps(config, plan) {
  const gaps = [];
  if (config && (config.devices || []).length === 0) gaps.push(['noDevices', '#/settings/devices']);
  else if (plan?.summary?.battery_capacity_wh === 0) gaps.push(['noBattery', '#/settings/devices']);
  if (plan?.summary?.pv_peak_w === 0) gaps.push(['noPlanes', '#/settings/pv']);
  return gaps;
}

function SetupGapsCard({ gaps }) {
  if (!gaps.length) return null;
  return html`<article class="card gaps-card" aria-labelledby="h-gaps" data-testid="setup-gaps">
    <h2 id="h-gaps">${t('gaps.title')}</h2>
    <ul>${gaps.map(([key, href]) => html`<li key=${key} data-testid=${`gap-${key}`}>${t(`gaps.${key}`)}
      <a href=${href}>${t(`gaps.${key}.link`)}</a></li>`)}</ul>
  </article>`;
}

export function LiveView({ s }) {
  const now = serverNow();
  const currency = s.config?.tariff?.currency || s.prices?.currency || 'EUR';
  const price = s.prices ? priceNow(s.prices, now) : null;
  const today = s.today;
  const selfWh = today ? Math.max(0, today.pv_wh - today.export_wh) : null;
  const saved = s.savingsToday?.total;
  const gaps = setupGaps(s.config, s.plan);
  const noBattery = gaps.some(([key]) => key === 'noDevices' || key === 'noBattery');
  return html`<section class="view live" data-testid="view-live" aria-labelledby="h-live">
    <h1 id="h-live" class="view-title">${t('nav.live')}</h1>
    <${SetupGapsCard} gaps=${gaps} />
    <div class="live-grid">
      <article class="card flow-card">
        <${FlowPicture} status=${s.status} />
        <p class="updated">${t('live.updated')} <time data-testid="live-updated"
          datetime=${s.status?.ts || ''}>${s.status?.ts_ms ? fmtTimeSec(s.status.ts_ms) : '–'}</time></p>
      </article>

      <article class="card battery-card" aria-labelledby="h-battery">
        <h2 id="h-battery">${t('live.battery')}</h2>
        <div class="battery-row">
          ${!noBattery && html`<${SocGauge} soc=${s.status?.soc_pct} />`}
          <div class="why-wrap">
            <h3 class="why-title">${t('why.title')}</h3>
            <${WhyCard} plan=${s.plan} control=${s.control} currency=${currency} />
          </div>
        </div>
      </article>

      <article class="card price-card" aria-labelledby="h-price">
        <h2 id="h-price">${t('live.priceNow')}</h2>
        <p class="big"><span data-testid="price-now">${price ? pricePerKwh(price.value, currency) : '–'}</span>
          ${price && html` <span class=${`chip ${price.level}`} data-testid="price-level"
            data-level=${price.level}>${t(`price.${price.level}`)}</span>`}</p>
        ${price && html`<p class="hint">${t('live.priceRange', { min: pricePerKwh(price.min, currency),
          avg: pricePerKwh(price.avg, currency), max: pricePerKwh(price.max, currency) })}</p>`}
        ${s.prices?.stale && html`<p class="warn">${t('live.pricesStale')}</p>`}
        ${s.prices === null && html`<p class="hint">${t('live.noPrices')}</p>`}
      </article>

      <article class="card today-card" aria-labelledby="h-today">
        <h2 id="h-today">${t('live.today')}</h2>
        <dl class="stats grid2">
          <${Stat} testid="today-produced" label=${t('live.produced')} value=${today ? kwh(today.pv_wh) : '–'} />
          <${Stat} testid="today-self-consumed" label=${t('live.selfConsumed')} value=${today ? kwh(selfWh) : '–'}
            hint=${today && today.pv_wh > 0 ? t('live.ofProduced', { pct: Math.round((100 * selfWh) / today.pv_wh) }) : ''} />
          <${Stat} testid="today-exported" label=${t('live.exported')} value=${today ? kwh(today.export_wh) : '–'} />
          <${Stat} testid="today-imported" label=${t('live.imported')} value=${today ? kwh(today.import_wh) : '–'} />
          <${Stat} testid="today-saved" label=${t('live.saved')} value=${saved ? money(saved.saved_vs_no_pv, s.savingsToday.currency || currency) : '–'}
            hint=${!saved ? t('live.savedLater') : noBattery ? '' : t('live.savedBattery', { v: money(saved.saved_vs_no_battery, s.savingsToday.currency || currency) })} />
        </dl>
      </article>

      <${ControlCard} control=${s.control} currency=${currency} />
      <${RecommendationsCard} recs=${s.recommendations} />
    </div>
  </section>`;
}
