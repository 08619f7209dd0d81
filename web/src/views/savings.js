// Savings: what the plant and the battery saved (GET /api/v1/savings), per period, with the
// payback estimate, what a smaller or bigger battery would have saved on the same history
// (GET /api/v1/savings/sizes) and a plain-language account of how the figures are made.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { getOptional, query } from '../api.js';
import { fmtDay, fmtMonthShort, kwh, localParts, localToMs, money, num, serverNow } from '../fmt.js';
import { Chart, baseOptions } from '../chart.js';

const SPANS = ['all', 'year', 'month', 'week'];
const cssVar = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();

function spanFrom(span) {
  const now = serverNow();
  const p = localParts(now);
  if (span === 'year') return localToMs(p.y, 1, 1);
  if (span === 'month') return localToMs(p.y, p.mo, 1);
  if (span === 'week') return localToMs(p.y, p.mo, p.d - 6);
  return null; // since installation (investment.installed) or the first measurement
}

// What each battery size would have saved on the stored history: a row per size, the
// configured one marked, a bar for the saving, the payback where a battery price is known.
function SizingCard({ currency }) {
  const [res, setRes] = useState(undefined);
  useEffect(() => {
    let dead = false;
    getOptional('/savings/sizes').catch((e) => ({ error: e.message })).then((r) => { if (!dead) setRes(r); });
    return () => { dead = true; };
  }, []);
  const sizes = res?.sizes ?? [];
  const cur = res?.currency || currency;
  const best = Math.max(0, ...sizes.map((x) => x.saved));
  const perYear = sizes.some((x) => x.annual_saving != null);
  return html`<article class="card sizing" data-testid="savings-sizing">
    <h2>${t('savings.sizing')}</h2>
    ${res === undefined ? html`<p>${t('common.loading')}</p>`
    : res?.error ? html`<p class="error" role="alert">${res.error}</p>`
    : !sizes.length ? html`<p class="hint" data-testid="sizing-empty">${t('savings.sizingNoData')}</p>`
    : html`<p class="hint">${res.days < 1 ? t('savings.sizingHintHours', { n: num(res.days * 24, 0) })
      : t('savings.sizingHint', { n: num(res.days, res.days < 10 ? 1 : 0) })}</p>
      <div class="table-wrap"><table data-testid="sizing-table">
        <thead><tr><th scope="col">${t('savings.sizingBattery')}</th><th scope="col">${t('savings.sizingSaved')}</th>
          <th scope="col">${t('savings.annual')}</th><th scope="col">${t('savings.sizingPrice')}</th><th scope="col">${t('savings.payback')}</th></tr></thead>
        <tbody>${sizes.map((x) => html`<tr class=${x.configured ? 'configured' : ''} data-testid=${`sizing-row-${x.battery_wh}`}>
          <th scope="row">${kwh(x.battery_wh)}${x.configured ? html` <span class="tag">${t('savings.sizingYours')}</span>` : ''}</th>
          <td data-testid="sizing-saved" data-label=${t('savings.sizingSaved')}><span class="bar" style=${`width:${best > 0 ? Math.round((Math.max(0, x.saved) / best) * 100) : 0}%`}></span>${money(x.saved, cur)}</td>
          <td data-label=${t('savings.annual')}>${perYear ? money(x.annual_saving, cur) : '–'}</td>
          <td data-label=${t('savings.sizingPrice')}>${x.price == null ? '–' : money(x.price, cur)}</td>
          <td data-testid="sizing-payback" data-label=${t('savings.payback')}>${x.payback_years == null ? '–' : t('savings.years', { n: num(x.payback_years, 1) })}</td>
        </tr>`)}</tbody>
      </table></div>
      ${res.price_per_kwh == null && html`<p class="hint">${t('savings.sizingNoPrice')}</p>`}
      <p class="hint">${t('savings.sizingHow')}</p>`}
  </article>`;
}

export function SavingsView({ s, themeKey }) {
  const [span, setSpan] = useState('all');
  const [res, setRes] = useState(undefined);
  const [payback, setPayback] = useState(undefined);

  useEffect(() => {
    let dead = false;
    setRes(undefined);
    const from = spanFrom(span);
    const params = { from: from == null ? undefined : Math.floor(from / 1000),
      group: span === 'year' || span === 'all' ? 'month' : 'day' };
    getOptional(`/savings?${query(params)}`).catch((e) => ({ error: e.message })).then((r) => {
      if (dead) return;
      setRes(r);
      if (span === 'all') setPayback(r?.payback ?? null);
    });
    return () => { dead = true; };
  }, [span]);
  useEffect(() => {
    // The payback is always computed over everything since installation.
    if (payback === undefined && span !== 'all') {
      getOptional('/savings?group=month').then((r) => setPayback(r?.payback ?? null)).catch(() => setPayback(null));
    }
  }, [payback, span]);

  const currency = res?.currency || s.config?.tariff?.currency || 'EUR';
  const total = res?.total;
  const monthly = res?.group === 'month';
  const chartData = useMemo(() => {
    if (!res?.periods?.length) return null;
    const x = res.periods.map((p) => {
      const [y, m, d] = p.period.split('-').map(Number);
      return (d ? localToMs(y, m, d, 12) : localToMs(y, m, 15)) / 1000;
    });
    return [x, res.periods.map((p) => p.saved_vs_no_pv), res.periods.map((p) => p.saved_vs_no_battery),
      res.periods.map((p) => p.saved_vs_self_consumption)];
  }, [res]);

  const pb = payback;
  const years = (y) => (y == null ? '–' : t('savings.years', { n: num(y, 1) }));

  return html`<section class="view savings" data-testid="view-savings" aria-labelledby="h-savings">
    <h1 id="h-savings" class="view-title">${t('nav.savings')}</h1>
    <div class="toolbar">
      <div class="segmented" role="group" aria-label=${t('savings.span')}>
        ${SPANS.map((x) => html`<button type="button" class=${x === span ? 'active' : ''} aria-pressed=${x === span ? 'true' : 'false'}
          data-testid=${`savings-span-${x}`} onClick=${() => setSpan(x)}>${t(`savings.span.${x}`)}</button>`)}
      </div>
    </div>
    ${res?.error && html`<p class="error" role="alert">${res.error}</p>`}
    <div class="cards3">
      <article class="card">
        <h2>${t('savings.vsNoPv')}</h2>
        <p class="big" data-testid="savings-vs-no-pv">${total ? money(total.saved_vs_no_pv, currency) : '–'}</p>
        <p class="hint">${t('savings.vsNoPvHint')}</p>
      </article>
      <article class="card">
        <h2>${t('savings.vsNoBattery')}</h2>
        <p class="big" data-testid="savings-vs-no-battery">${total ? money(total.saved_vs_no_battery, currency) : '–'}</p>
        <p class="hint">${t('savings.vsNoBatteryHint')}</p>
      </article>
      <article class="card">
        <h2>${t('savings.vsSelf')}</h2>
        <p class="big" data-testid="savings-vs-self-consumption">${total ? money(total.saved_vs_self_consumption, currency) : '–'}</p>
        <p class="hint">${t('savings.vsSelfHint')}</p>
      </article>
    </div>
    <article class="card">
      <h2>${t('savings.payback')}</h2>
      <div data-testid="savings-payback">
        ${pb === undefined ? html`<p>${t('common.loading')}</p>` : !pb ? html`<p class="hint">${t('savings.noPayback')}</p>` : html`
          <dl class="stats grid3">
            <div class="stat"><dt>${t('savings.paybackPlant')}</dt><dd>${years(pb.years)}</dd>
              <dd class="hint">${t('savings.investment', { v: money(pb.investment, currency) })}</dd></div>
            <div class="stat"><dt>${t('savings.paybackBattery')}</dt><dd>${years(pb.battery_years)}</dd></div>
            <div class="stat"><dt>${t('savings.annual')}</dt><dd>${pb.annual_saving == null ? '–' : money(pb.annual_saving, currency)}</dd>
              <dd class="hint">${t('savings.basis', { n: num(pb.basis_days, 0) })}</dd></div>
          </dl>
          ${pb.note && html`<p class="hint">${pb.note}</p>`}`}
      </div>
    </article>
    <${SizingCard} currency=${currency} />
    ${total && html`<article class="card">
      <h2>${t('savings.energy')}</h2>
      <dl class="stats grid3">
        <div class="stat"><dt>${t('savings.cost')}</dt><dd>${money(total.cost, currency)}</dd></div>
        <div class="stat"><dt>${t('savings.costNoPv')}</dt><dd>${money(total.cost_no_pv, currency)}</dd></div>
        <div class="stat"><dt>${t('savings.costNoBattery')}</dt><dd>${money(total.cost_no_battery, currency)}</dd></div>
        <div class="stat"><dt>${t('history.consumed')}</dt><dd>${kwh(total.load_kwh * 1000)}</dd></div>
        <div class="stat"><dt>${t('live.produced')}</dt><dd>${kwh(total.pv_kwh * 1000)}</dd></div>
        <div class="stat"><dt>${t('live.imported')}</dt><dd>${kwh(total.import_kwh * 1000)}</dd></div>
      </dl>
    </article>`}
    ${chartData && html`<article class="card">
      <h2>${monthly ? t('savings.perMonth') : t('savings.perDay')}</h2>
      <${Chart} testid="savings-chart" label=${t('nav.savings')} data=${chartData} height=${200} deps=${[themeKey, span, chartData]}
        make=${(U) => ({ ...baseOptions(U, { yFormat: (v) => money(v, currency), xRange: [chartData[0][0] - (monthly ? 16 * 86400 : 43200),
          chartData[0][chartData[0].length - 1] + (monthly ? 16 * 86400 : 43200)] }),
          series: [{ value: (u, v) => (v == null ? '–' : monthly ? fmtMonthShort(v * 1000) : fmtDay(v * 1000)) },
            { label: t('savings.vsNoPv'), stroke: cssVar('--c-pv'), fill: cssVar('--c-pv'), paths: U.paths.bars({ size: [0.3, 30], align: -1 }), points: { show: false }, value: (u, v) => money(v, currency) },
            { label: t('savings.vsNoBattery'), stroke: cssVar('--c-battery'), fill: cssVar('--c-battery'), paths: U.paths.bars({ size: [0.3, 30], align: 1 }), points: { show: false }, value: (u, v) => money(v, currency) },
            { label: t('savings.vsSelf'), stroke: cssVar('--c-grid'), width: 2, value: (u, v) => money(v, currency) }] })} />
    </article>`}
    <article class="card explainer" data-testid="savings-explainer">
      <h2>${t('savings.howTitle')}</h2>
      <p>${t('savings.how1')}</p>
      <ul><li>${t('savings.howNoPv')}</li><li>${t('savings.howNoBattery')}</li><li>${t('savings.howSelf')}</li></ul>
      <p>${t('savings.how2')}</p>
      <p>${t('savings.how3')}</p>
    </article>
  </section>`;
}
