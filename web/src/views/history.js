// History: a day, week, month or year of measurements (GET /api/v1/series, downsampled by the
// server), solar and load forecasts against what happened (/forecast/solar/accuracy,
// /forecast/load), and what the energy cost (/savings). Days and months are the site's.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { getOptional, query } from '../api.js';
import { fmtDay, fmtMonth, fmtMonthShort, fmtDate, kwh, localParts, localToMs, localDate, money, num, pricePerKwh,
  serverNow, startOfDay, watts, pct } from '../fmt.js';
import { Chart, baseOptions } from '../chart.js';

const RANGES = ['day', 'week', 'month', 'year'];
const cssVar = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();

// [from, to) of the period that holds `at`, and its neighbours.
function period(range, at) {
  const p = localParts(at);
  if (range === 'day') return [startOfDay(at), localToMs(p.y, p.mo, p.d + 1)];
  if (range === 'week') {
    const back = (p.wd + 6) % 7; // Monday first
    return [localToMs(p.y, p.mo, p.d - back), localToMs(p.y, p.mo, p.d - back + 7)];
  }
  if (range === 'month') return [localToMs(p.y, p.mo, 1), localToMs(p.y, p.mo + 1, 1)];
  return [localToMs(p.y, 1, 1), localToMs(p.y + 1, 1, 1)];
}
// Bucket length asked of the server: power curves for a day or a week, energy per local day
// (from hourly buckets) for a month, per local month (from daily buckets) for a year.
const STEP = { day: '15m', week: '1h', month: '1h', year: '1d' };
const NAMES = ['pv_w', 'home_w', 'grid_w', 'battery_w', 'soc_pct'];

function title(range, from) {
  if (range === 'day') return fmtDate(from);
  if (range === 'week') return `${fmtDay(from)} – ${fmtDay(from + 6.5 * 864e5)}`;
  if (range === 'month') return fmtMonth(from);
  return String(localParts(from + 864e5).y);
}

// Joins the series on their bucket times.
function join(answers) {
  const times = new Set();
  for (const a of answers) a?.ts?.forEach((ts) => times.add(ts));
  const ts = [...times].sort((a, b) => a - b);
  const cols = answers.map((a) => {
    const m = new Map();
    a?.ts?.forEach((x, i) => m.set(x, a.avg[i]));
    return ts.map((x) => m.get(x) ?? null);
  });
  return { ts, cols, step_s: answers.find((a) => a)?.step_s || 3600 };
}

// Energy per bucket (Wh) split into groups (local days or months): produced, consumed,
// imported, exported. Import and export come from the bucket's mean grid power, so a bucket
// that both imported and exported counts only the balance.
function energyBy(joined, groupOf) {
  const groups = new Map();
  const h = joined.step_s / 3600;
  joined.ts.forEach((ms, i) => {
    const key = groupOf(ms);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, pv: 0, home: 0, imp: 0, exp: 0 }));
    const [pv, home, grid] = [joined.cols[0][i], joined.cols[1][i], joined.cols[2][i]];
    g.pv += (pv ?? 0) * h;
    g.home += (home ?? 0) * h;
    if (grid != null) (grid > 0 ? (g.imp += grid * h) : (g.exp -= grid * h));
  });
  return [...groups.values()];
}

function useHistory(range, from, to) {
  const [result, setResult] = useState(null);
  useEffect(() => {
    let dead = false;
    setResult(null);
    const r = { from: Math.floor(from / 1000), to: Math.floor(to / 1000), step: STEP[range] };
    const days = Math.min(90, Math.max(1, Math.ceil((serverNow() - from) / 864e5)));
    Promise.all([
      Promise.all(NAMES.map((n) => getOptional(`/series?name=${n}&${query(r)}`).catch(() => null))),
      getOptional(`/forecast/solar/accuracy?days=${days}`).catch(() => null),
      getOptional(`/forecast/load?days=${days}`).catch(() => null),
      from < serverNow() ? getOptional(`/savings?${query({ from: r.from, to: Math.min(r.to, Math.floor(serverNow() / 1000)),
        group: range === 'year' ? 'month' : 'day' })}`).catch(() => null) : null,
    ]).then(([series, pvAcc, load, savings]) => {
      if (!dead) setResult({ joined: join(series), pvAcc, load, savings });
    });
    return () => { dead = true; };
  }, [range, from, to]);
  return result;
}

export function HistoryView({ s, themeKey, route }) {
  const range = RANGES.includes(route.params.range) ? route.params.range : 'day';
  const [at, setAt] = useState(() => serverNow());
  const [from, to] = period(range, at);
  const res = useHistory(range, from, to);
  const currency = s.config?.tariff?.currency || 'EUR';

  const view = useMemo(() => {
    if (!res) return null;
    const { joined } = res;
    const energy = energyBy(joined, range === 'year' ? (ms) => localDate(ms).slice(0, 7) : localDate);
    const total = energy.reduce((a, g) => ({ pv: a.pv + g.pv, home: a.home + g.home, imp: a.imp + g.imp, exp: a.exp + g.exp }),
      { pv: 0, home: 0, imp: 0, exp: 0 });
    let chart;
    if (range === 'day' || range === 'week') {
      chart = { kind: 'power', data: [joined.ts.map((x) => x / 1000), ...joined.cols] };
    } else {
      // One bar per local day or month, placed at its middle.
      const x = energy.map((g) => {
        const [y, m, d] = g.key.split('-').map(Number);
        return (range === 'year' ? localToMs(y, m, 15) : localToMs(y, m, d, 12)) / 1000;
      });
      chart = { kind: 'energy', data: [x, energy.map((g) => g.pv / 1000), energy.map((g) => g.home / 1000), energy.map((g) => g.imp / 1000)] };
    }
    // Forecast against measurement per local day inside the period.
    const inside = (d) => d.date >= localDate(from) && d.date < localDate(to);
    const pvDays = (res.pvAcc?.providers?.[0]?.days || []).filter(inside);
    const loadDays = (res.load?.accuracy?.days || []).filter(inside);
    const sum = (list, k) => (list.length ? list.reduce((a, d) => a + (d[k] || 0), 0) : null);
    return { energy, total, chart, pvDays, loadDays,
      pvF: sum(pvDays, 'forecast_wh'), pvA: sum(pvDays, 'actual_wh'), loadF: sum(loadDays, 'forecast_wh'), loadA: sum(loadDays, 'actual_wh') };
  }, [res, range]);

  const shift = (dir) => {
    const [f, tt] = period(range, at);
    setAt(dir < 0 ? f - 1 : tt + 1);
  };
  const atEnd = to > serverNow();
  const cost = res?.savings?.total;

  return html`<section class="view history" data-testid="view-history" aria-labelledby="h-history">
    <h1 id="h-history" class="view-title">${t('nav.history')}</h1>
    <div class="toolbar">
      <div class="segmented" role="group" aria-label=${t('history.range')}>
        ${RANGES.map((r) => html`<a href=${`#/history/${r}`} data-testid=${`history-range-${r}`}
          aria-current=${r === range ? 'true' : undefined} class=${r === range ? 'active' : ''}>${t(`history.${r}`)}</a>`)}
      </div>
      <div class="pager">
        <button type="button" onClick=${() => shift(-1)} aria-label=${t('history.previous')}>‹</button>
        <span class="period" aria-live="polite">${title(range, from)}</span>
        <button type="button" onClick=${() => shift(1)} disabled=${atEnd} aria-label=${t('history.next')}>›</button>
      </div>
    </div>
    <article class="card">
      <dl class="stats grid3">
        <div class="stat"><dt>${t('live.produced')}</dt><dd data-testid="history-produced">${view ? kwh(view.total.pv) : '–'}</dd></div>
        <div class="stat"><dt>${t('history.consumed')}</dt><dd>${view ? kwh(view.total.home) : '–'}</dd></div>
        <div class="stat"><dt>${t('live.imported')}</dt><dd>${view ? kwh(view.total.imp) : '–'}</dd></div>
        <div class="stat"><dt>${t('live.exported')}</dt><dd>${view ? kwh(view.total.exp) : '–'}</dd></div>
        <div class="stat"><dt>${t('history.cost')}</dt><dd data-testid="history-cost">${cost ? money(cost.cost, res.savings.currency || currency) : '–'}</dd>
          ${cost?.import_kwh > 0 && html`<dd class="hint">${t('history.avgPrice', { v: pricePerKwh(cost.cost / cost.import_kwh, res.savings.currency || currency) })}</dd>`}</div>
        <div class="stat"><dt>${t('history.selfSufficiency')}</dt>
          <dd>${view && view.total.home > 0 ? pct(100 * (1 - view.total.imp / view.total.home)) : '–'}</dd></div>
      </dl>
    </article>
    <article class="card">
      <h2>${view?.chart.kind === 'energy' ? t('history.energyChart') : t('history.powerChart')}</h2>
      ${!res && html`<p>${t('common.loading')}</p>`}
      ${view && view.chart.data[0].length === 0 && html`<p class="hint">${t('history.noData')}</p>`}
      ${view && html`<${Chart} testid="history-chart" label=${t('nav.history')} data=${view.chart.data} height=${240}
        deps=${[themeKey, range, from, view.chart.kind]}
        make=${(U) => view.chart.kind === 'power' ? {
          ...baseOptions(U, { showNow: true, yFormat: watts, y2: { scale: '%', label: '%', format: (v) => `${num(v)}` },
            xRange: [from / 1000, to / 1000], scales: { '%': { range: [0, 100] } } }),
          series: [{},
            { label: t('flow.pv'), stroke: cssVar('--c-pv'), fill: cssVar('--c-pv-fill'), width: 2, value: (u, v) => watts(v) },
            { label: t('flow.home'), stroke: cssVar('--c-home'), width: 2, value: (u, v) => watts(v) },
            { label: t('history.gridSigned'), stroke: cssVar('--c-grid'), width: 1.5, value: (u, v) => watts(v) },
            { label: t('history.batterySigned'), stroke: cssVar('--c-battery'), width: 1.5, value: (u, v) => watts(v) },
            { label: t('plan.socSeries'), stroke: cssVar('--muted'), width: 1, dash: [4, 4], scale: '%', value: (u, v) => pct(v) }],
        } : {
          ...baseOptions(U, { yFormat: (v) => `${num(v, 1)} kWh`, xRange: [from / 1000, to / 1000] }),
          series: [{ value: (u, v) => (v == null ? '–' : range === 'year' ? fmtMonthShort(v * 1000) : fmtDay(v * 1000)) },
            { label: t('live.produced'), stroke: cssVar('--c-pv'), fill: cssVar('--c-pv'), paths: U.paths.bars({ size: [0.4, 40], align: -1 }), points: { show: false }, value: (u, v) => kwh(v * 1000) },
            { label: t('history.consumed'), stroke: cssVar('--c-home'), fill: cssVar('--c-home'), paths: U.paths.bars({ size: [0.4, 40], align: 1 }), points: { show: false }, value: (u, v) => kwh(v * 1000) },
            { label: t('live.imported'), stroke: cssVar('--c-grid'), width: 2, value: (u, v) => kwh(v * 1000) }],
        }} />`}
      ${view?.chart.kind === 'power' && html`<p class="hint">${t('history.signs')}</p>`}
    </article>
    <article class="card">
      <h2>${t('history.forecastVsActual')}</h2>
      ${view && html`<dl class="stats grid2">
        <div class="stat"><dt>${t('history.pvForecast')}</dt><dd data-testid="history-pv-forecast">${view.pvF == null ? '–' : kwh(view.pvF)}</dd>
          <dd class="hint">${t('history.measured', { v: view.pvA == null ? '–' : kwh(view.pvA) })}</dd></div>
        <div class="stat"><dt>${t('history.loadForecast')}</dt><dd>${view.loadF == null ? '–' : kwh(view.loadF)}</dd>
          <dd class="hint">${t('history.measured', { v: view.loadA == null ? '–' : kwh(view.loadA) })}</dd></div>
      </dl>
      ${(view.pvDays.length > 0 || view.loadDays.length > 0) && html`<details><summary>${t('history.perDay')}</summary>
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">${t('history.date')}</th><th scope="col">${t('history.pvForecast')}</th><th scope="col">${t('history.pvActual')}</th>
            <th scope="col">${t('history.loadForecast')}</th><th scope="col">${t('history.loadActual')}</th></tr></thead>
          <tbody>${[...new Set([...view.pvDays, ...view.loadDays].map((d) => d.date))].sort().map((date) => {
            const p = view.pvDays.find((d) => d.date === date), l = view.loadDays.find((d) => d.date === date);
            return html`<tr><th scope="row">${date}</th><td>${p ? kwh(p.forecast_wh) : '–'}</td><td>${p ? kwh(p.actual_wh) : '–'}</td>
              <td>${l ? kwh(l.forecast_wh) : '–'}</td><td>${l ? kwh(l.actual_wh) : '–'}</td></tr>`;
          })}</tbody></table></div></details>`}
      <p class="hint">${t('history.accuracyNote')}</p>`}
    </article>
  </section>`;
}
