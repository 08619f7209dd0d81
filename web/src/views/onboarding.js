// First setup (#/setup): after the password, four steps — site (found by a place search or a
// click on the map, components/site-picker.js), solar modules, tariff, devices —
// over a draft of the config, saved at the end with PUT /api/v1/config (the daemon checks it
// with the same rules as the file; its errors show beside the fields, the step with the first
// one opened). Devices come from the daemon's catalogue with a Test before saving. Everything
// here is also in Settings.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { ApiError, put } from '../api.js';
import { reloadConfig } from '../store.js';
import { PROVIDER_FIELDS, SECTIONS, DEVICE_LIST } from '../settings-schema.js';
import { LazySitePicker, ListEditor, fields, getAt, setAt, useCatalogue, hostProblem } from './settings.js';

const STEPS = ['site', 'pv', 'tariff', 'devices'];
// Which step shows a config path (for the daemon's errors).
const stepOf = (path) => (/^(pv|inverter)/.test(path) ? 'pv' : /^(tariff|providers)/.test(path) ? 'tariff'
  : /^devices/.test(path) ? 'devices' : 'site');

// Price sources by country: day-ahead prices without an account first, a fixed price last.
const PRICE_TYPES = ['fixed', 'tou', 'awattar', 'energy_charts', 'entsoe', 'tibber', 'octopus'];
export const COUNTRY_PRICES = {
  DE: [['energy_charts', 'DE-LU'], ['awattar', 'de'], ['tibber', ''], ['fixed', '']],
  AT: [['energy_charts', 'AT'], ['awattar', 'at'], ['tibber', ''], ['fixed', '']],
  NL: [['energy_charts', 'NL'], ['entsoe', 'NL'], ['tibber', ''], ['fixed', '']],
  BE: [['energy_charts', 'BE'], ['entsoe', 'BE'], ['fixed', '']],
  FR: [['energy_charts', 'FR'], ['entsoe', 'FR'], ['fixed', '']],
  CH: [['energy_charts', 'CH'], ['fixed', '']],
  GB: [['octopus', 'C'], ['fixed', '']],
  other: [['fixed', ''], ['entsoe', '']],
};

const clone = (o) => JSON.parse(JSON.stringify(o));

function TariffStep({ ctx }) {
  const providers = ctx.draft.providers || [];
  const index = providers.findIndex((p) => PRICE_TYPES.includes(p.type));
  const current = index >= 0 ? providers[index] : null;
  const [country, setCountry] = useState('DE');
  const choices = COUNTRY_PRICES[country];
  const choose = (value) => {
    const [type, area] = choices.find(([ty, ar]) => `${ty}|${ar}` === value) || choices[0];
    const next = { id: current?.id || 'prices', type, enabled: true };
    if (area) next.area = area;
    if (type === 'fixed') next.price_per_kwh = ctx.draft.tariff?.import_per_kwh ?? 0.3;
    const list = providers.filter((p) => !PRICE_TYPES.includes(p.type));
    ctx.change('providers', [next, ...list]);
  };
  const value = current ? `${current.type}|${current.area || ''}` : '';
  const shown = current ? choices.some(([ty, ar]) => `${ty}|${ar}` === value) : false;
  const at = providers.findIndex((p) => PRICE_TYPES.includes(p.type));
  return html`<div class="fields">
    ${fields('tariff.', SECTIONS.find((x) => x.id === 'tariff').fields, ctx)}
    <div class="field"><label for="onb-country">${t('onb.country')}</label>
      <div class="input-row"><select id="onb-country" data-testid="onb-country" value=${country} onChange=${(e) => setCountry(e.currentTarget.value)}>
        ${Object.keys(COUNTRY_PRICES).map((c) => html`<option value=${c} selected=${c === country}>${t(`onb.country.${c}`)}</option>`)}</select></div></div>
    <div class="field"><label for="onb-prices">${t('onb.priceSource')}</label>
      <div class="input-row"><select id="onb-prices" data-testid="onb-prices" value=${shown ? value : ''} onChange=${(e) => choose(e.currentTarget.value)}>
        ${!shown && html`<option value="" selected>${current ? tOr(`prov.${current.type}`, current.type) : t('onb.priceNone')}</option>`}
        ${choices.map(([ty, ar]) => html`<option value=${`${ty}|${ar}`} selected=${`${ty}|${ar}` === value}>${t(`onb.price.${ty}`)}${ar ? ` (${ar})` : ''}</option>`)}
      </select></div></div>
    ${at >= 0 && fields(`providers[${at}].`, (PROVIDER_FIELDS[providers[at].type] || []).filter((f) => f[0] !== 'area'), ctx)}
  </div>`;
}

function SiteStep({ ctx }) {
  const [where, setWhere] = useState(null);
  const locate = () => {
    if (!navigator.geolocation) return setWhere({ error: t('onb.noGeo') });
    setWhere({ busy: true });
    navigator.geolocation.getCurrentPosition((p) => {
      ctx.change('site.latitude', Math.round(p.coords.latitude * 1e4) / 1e4);
      ctx.change('site.longitude', Math.round(p.coords.longitude * 1e4) / 1e4);
      setWhere(null);
    }, (e) => setWhere({ error: t('onb.geoFailed', { e: e.message }) }), { timeout: 10000 });
  };
  // The map's and the search's servers are settings for later (Settings → Site), not questions
  // for the first hour.
  const siteFields = SECTIONS.find((x) => x.id === 'site').fields.filter(([key]) => !/_url$/.test(key));
  return html`<div class="fields">
    ${fields('site.', siteFields, ctx)}
  </div>
  <p class="hint">${t('onb.locationHint')}</p>
  <${LazySitePicker} ctx=${ctx} open />
  <button type="button" class="secondary" data-testid="onb-locate" onClick=${locate} disabled=${where?.busy}>${t('onb.locate')}</button>
  ${where?.error && html`<p class="field-error" role="alert">${where.error}</p>`}`;
}

// Solar forecasts: per plane without an account first; Solcast has the planes at its site.
const PV_TYPES = ['open_meteo', 'forecast_solar', 'solcast'];

function PvStep({ ctx }) {
  const pv = SECTIONS.find((x) => x.id === 'pv');
  const planes = ctx.draft.pv?.planes || [];
  const providers = ctx.draft.providers || [];
  const at = providers.findIndex((p) => PV_TYPES.includes(p.type));
  const current = at >= 0 ? providers[at].type : '';
  const choose = (type) => {
    const rest = providers.filter((p) => !PV_TYPES.includes(p.type));
    ctx.change('providers', type ? [...rest, { id: providers[at]?.id || 'solar', type, enabled: true }] : rest);
  };
  // The first plane brings a forecast (Open-Meteo needs no account): modules without one
  // would be planned as if the sun never shone.
  useEffect(() => {
    if (planes.length && at < 0 && !ctx.pvForecastChosen) choose('open_meteo');
  }, [planes.length]);
  return html`${pv.lists.map((l) => html`<${ListEditor} base="pv." spec=${l} ctx=${ctx} />`)}
    ${!planes.length && html`<p class="hint" data-testid="onb-no-planes">${t('onb.noPlanes')}</p>`}
    <div class="fields">${fields('inverter.', [['ac_limit_w', 'number', { unit: 'W' }]], ctx)}
      <div class="field"><label for="onb-pv-forecast">${t('onb.pvForecast')}</label>
        <div class="input-row"><select id="onb-pv-forecast" data-testid="onb-pv-forecast" value=${current}
          onChange=${(e) => { ctx.setPvForecastChosen(true); choose(e.currentTarget.value); }}>
          ${PV_TYPES.map((ty) => html`<option value=${ty} selected=${ty === current}>${t(`onb.pv.${ty}`)}</option>`)}
          <option value="" selected=${!current}>${t('onb.pv.none')}</option></select></div></div></div>
    ${at >= 0 && html`<div class="fields">${fields(`providers[${at}].`, PROVIDER_FIELDS[providers[at].type] || [], ctx)}</div>`}`;
}

function DevicesStep({ ctx }) {
  const devices = ctx.draft.devices || [];
  const battery = devices.some((d) => d.type === 'simulator' || /battery/.test(d.role || '') ||
    ['marstek_venus', 'zendure'].includes(d.type));
  return html`<p class="hint">${t('onb.devicesHint')}</p>
    <${ListEditor} base="" spec=${DEVICE_LIST} ctx=${ctx} />
    ${!battery && html`<p class="hint" data-testid="onb-no-battery">${t('onb.noBattery')}</p>`}`;
}

const STEP_VIEWS = { site: SiteStep, pv: PvStep, tariff: TariffStep, devices: DevicesStep };

export function OnboardingView({ s }) {
  const [draft, setDraft] = useState(() => (s.config ? clone(s.config) : null));
  const [step, setStep] = useState(0);
  const [errors, setErrors] = useState({});
  const [result, setResult] = useState(null);
  const [raw, setRaw] = useState({});
  const [saving, setSaving] = useState(false);
  // The user chose the solar forecast (none included): the first plane no longer picks one.
  const [pvForecastChosen, setPvForecastChosen] = useState(false);
  const catalogue = useCatalogue();
  useEffect(() => {
    if (!draft && s.config) setDraft(clone(s.config));
  }, [s.config]);
  if (!draft) return html`<section class="view" data-testid="view-setup"><p>${t('common.loading')}</p></section>`;
  const change = (path, value, typed) => {
    setRaw((r) => ({ ...r, [path]: typed }));
    setDraft((d) => {
      const next = clone(d);
      setAt(next, path, value);
      return next;
    });
    setErrors((e) => {
      const { [path]: _, ...rest } = e;
      return rest;
    });
    setResult(null);
  };
  const registry = [];
  const ctx = { draft, raw: Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)), errors, setErrors,
    change, registry, strategies: [], currency: draft.tariff?.currency, catalogue, saved: s.config,
    pvForecastChosen, setPvForecastChosen };
  const name = STEPS[step];
  const View = STEP_VIEWS[name];
  const last = step === STEPS.length - 1;

  const localProblems = () => {
    const found = {};
    for (const { path, opts } of registry) {
      const v = getAt(draft, path);
      if (opts.required && (v === '' || v == null)) found[path] = t('settings.required');
      else if (/^devices\[\d+\]\.host$/.test(path) && hostProblem(v)) found[path] = hostProblem(v);
    }
    return found;
  };
  const next = () => {
    const found = localProblems();
    if (Object.keys(found).length) return setErrors(found);
    setStep(step + 1);
    scrollTo(0, 0);
  };
  const save = async () => {
    const found = localProblems();
    if (Object.keys(found).length) return setErrors(found);
    setSaving(true);
    try {
      const answer = await put('/config', draft);
      reloadConfig(answer?.config || draft);
      try {
        localStorage.setItem('balkon.setupDone', '1');
      } catch {
        /* asked again next time */
      }
      location.hash = '#/devices';
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && Array.isArray(e.body?.errors)) {
        const map = Object.fromEntries(e.body.errors.map((x) => [x.path, x.message]));
        setErrors(map);
        setStep(STEPS.indexOf(stepOf(e.body.errors[0].path)));
        setResult({ error: e.body.error, list: e.body.errors });
      } else setResult({ error: e.message, list: [] });
    } finally {
      setSaving(false);
    }
  };
  return html`<section class="view settings onboarding" data-testid="view-setup" aria-labelledby="h-setup">
    <h1 id="h-setup" class="view-title">${t('onb.title')}</h1>
    <p class="hint">${t('onb.intro')}</p>
    <ol class="steps" aria-label=${t('onb.steps')}>${STEPS.map((x, i) => html`<li aria-current=${i === step ? 'step' : undefined}
      class=${i === step ? 'current' : i < step ? 'done' : ''}>${t(`onb.step.${x}`)}</li>`)}</ol>
    <section class="card settings-form" data-testid=${`onb-step-${name}`} aria-labelledby="h-step">
      <h2 id="h-step">${t(`onb.step.${name}`)}</h2>
      <${View} ctx=${ctx} />
    </section>
    ${result?.error && html`<div class="field-error" role="alert" data-testid="onb-error"><p>${result.error}</p>
      <ul>${result.list.map((x) => html`<li><code>${x.path}</code>: ${x.message}</li>`)}</ul></div>`}
    <div class="buttons">
      ${step > 0 && html`<button type="button" class="secondary" data-testid="onb-back" onClick=${() => setStep(step - 1)}>${t('onb.back')}</button>`}
      ${!last && html`<button type="button" data-testid="onb-next" onClick=${next}>${t('onb.next')}</button>`}
      ${last && html`<button type="button" data-testid="onb-save" disabled=${saving} onClick=${save}>${saving ? t('settings.saving') : t('onb.finish')}</button>`}
      <a href="#/settings" class="secondary">${t('onb.skip')}</a>
    </div>
  </section>`;
}
