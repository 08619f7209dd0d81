// Settings: a form over GET /api/v1/config. Save sends the whole document with PUT
// /api/v1/config; the server validates (the table in src/core/config_table.c) and a 400 lists
// errors by JSON path, each shown next to its field (data-testid error-<path>). Here only
// light checks: required fields filled, numbers are numbers. The strategy can also be switched
// at run time (PUT /api/v1/strategy) without touching the config.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { AccessCard } from './access.js';
import { errorText, lang, strategyDescription, t, tOr } from '../i18n.js';
import { ApiError, get, post, put, query } from '../api.js';
import { loadPlan, reloadConfig } from '../store.js';
import { DEVICE_FIELD, SECTIONS, ZONE_FIELDS as ZONES } from '../settings-schema.js';
import { faultSentence } from '../faults.js';
import { DeviceFinder } from './device-finder.js';

// "pv.planes[0].peak_w" <-> ['pv', 'planes', 0, 'peak_w']
const split = (path) => path.replace(/\[(\d+)\]/g, '.$1').split('.').map((k) => (/^\d+$/.test(k) ? +k : k));
export const getAt = (obj, path) => split(path).reduce((o, k) => (o == null ? undefined : o[k]), obj);
export function setAt(obj, path, value) {
  const keys = split(path);
  let o = obj;
  keys.slice(0, -1).forEach((k, i) => {
    if (o[k] == null) o[k] = typeof keys[i + 1] === 'number' ? [] : {};
    o = o[k];
  });
  o[keys[keys.length - 1]] = value;
}
const labelKey = (path) => `f.${path.replace(/\[\d+\]/g, '')}`;
const domId = (path) => `f-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;
export const NUMERIC = new Set(['number', 'int']);

function unitText(unit, currency) {
  if (!unit) return '';
  return unit.replace('money', currency || 'EUR');
}

let timeZones = null;
function zoneList() {
  if (!timeZones) {
    try {
      timeZones = Intl.supportedValuesOf('timeZone');
    } catch {
      timeZones = [];
    }
  }
  return timeZones;
}

export function Field({ path, kind, opts, ctx }) {
  const value = getAt(ctx.draft, path);
  const error = ctx.errors[path];
  const id = domId(path);
  ctx.registry.push({ path, kind, opts });
  const onInput = (e) => {
    const el = e.currentTarget;
    let v;
    if (kind === 'bool') v = el.checked;
    else if (kind === 'select' && opts.numeric) v = Number(el.value);
    else if (NUMERIC.has(kind)) {
      // The typed text is kept as typed ("0.30" stays), the number goes into the config.
      v = el.value === '' ? '' : Number.isFinite(el.valueAsNumber) ? el.valueAsNumber : el.value;
      return ctx.change(path, v, el.value);
    } else v = el.value;
    ctx.change(path, v);
  };
  const common = {
    id, 'data-testid': `field-${path}`, 'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': error ? `${id}-err` : undefined, required: opts.required || undefined,
  };
  let input;
  if (kind === 'bool') {
    input = html`<input type="checkbox" ...${common} checked=${!!value} onChange=${onInput} />`;
  } else if (kind === 'select') {
    let options = opts.options === 'strategies' ? ctx.strategies : opts.options;
    if (value != null && value !== '' && !options.includes(value)) options = [value, ...options];
    const label = opts.label || ((o) => tOr(`opt.${o}`, o));
    input = html`<select ...${common} value=${value ?? ''} onChange=${onInput}>
      ${options.map((o) => html`<option value=${o} selected=${o === value}>${label(o)}</option>`)}</select>`;
  } else {
    const type = { number: 'number', int: 'number', secret: 'password', time: 'time', date: 'date' }[kind] || 'text';
    const shown = NUMERIC.has(kind) && path in ctx.raw ? ctx.raw[path] : value ?? '';
    input = html`<input type=${type} ...${common} value=${shown} onInput=${onInput}
      step=${kind === 'int' ? '1' : kind === 'number' ? 'any' : undefined} inputmode=${NUMERIC.has(kind) ? 'decimal' : undefined}
      autocomplete=${kind === 'secret' ? 'new-password' : 'off'} placeholder=${opts.placeholder}
      list=${kind === 'tz' ? 'tz-list' : undefined} />`;
  }
  const hint = opts.hint && opts.hint(value);
  const unit = unitText(opts.unit, ctx.currency);
  return html`<div class=${`field ${kind === 'bool' ? 'check' : ''} ${error ? 'has-error' : ''}`}>
    <label for=${id}>${t(labelKey(path))}${opts.required ? html`<span aria-hidden="true"> *</span>` : ''}</label>
    <div class="input-row">${input}${unit && html`<span class="unit">${unit}</span>`}</div>
    ${kind === 'secret' && value === '***' && html`<span class="hint">${t('settings.secretKept')}</span>`}
    ${hint && html`<span class="hint">${hint}</span>`}
    ${error && html`<p class="field-error" id=${`${id}-err`} data-testid=${`error-${path}`} role="alert">${error}</p>`}
  </div>`;
}

export const fields = (base, list, ctx) => list.map(([key, kind, opts]) =>
  html`<${Field} key=${`${base}${key}`} path=${`${base}${key}`} kind=${kind} opts=${opts} ctx=${ctx} />`);

// An error for a whole list item (e.g. "devices[2]: duplicate id") shows at its heading.
function ItemError({ path, ctx }) {
  const error = ctx.errors[path];
  return error ? html`<p class="field-error" data-testid=${`error-${path}`} role="alert">${error}</p>` : null;
}

export function ListEditor({ base, spec, ctx }) {
  const path = `${base}${spec.key}`;
  const items = getAt(ctx.draft, path) || [];
  // The catalogue model a detected device was found to be, by its id, for its editor.
  const modelHints = useRef({});
  const add = () => ctx.change(path, [...items, spec.newItem(items.length)]);
  const remove = (i) => ctx.change(path, items.filter((_, k) => k !== i));
  const useFound = (item, model) => {
    if (model) modelHints.current[item.id] = modelKey(item.type, model);
    ctx.change(path, [...items, item]);
    const at = `${path}[${items.length}]`;
    requestAnimationFrame(() => requestAnimationFrame(() =>
      document.querySelector(`[data-testid="item-${at}"]`)?.scrollIntoView({ block: 'start', behavior: 'smooth' })));
  };
  return html`<div class="list-editor">
    ${base && html`<h3>${t(labelKey(path))}</h3>`}
    <${ItemError} path=${path} ctx=${ctx} />
    ${spec.item === 'device' && items.length < spec.max && html`<${DeviceFinder} catalogue=${ctx.catalogue} items=${items} onUse=${useFound} />`}
    ${items.map((item, i) => {
      const ip = `${path}[${i}]`;
      const typed = spec.typed ? spec.typed[item.type] || [] : null;
      return html`<fieldset class="item" key=${`${ip}-${item.id ?? i}`} data-testid=${`item-${ip}`}>
        <legend>${t(`settings.item.${spec.item}`)} ${i + 1}${item.id ? `: ${item.id}` : item.name ? `: ${item.name}` : ''}</legend>
        <${ItemError} path=${ip} ctx=${ctx} />
        ${spec.item === 'device' ? html`<${DeviceEditor} ip=${ip} item=${item} ctx=${ctx} hint=${modelHints.current[item.id]} />` : html`<div class="fields">
          ${fields(`${ip}.`, spec.common || spec.fields, ctx)}
          ${typed && fields(`${ip}.`, typed, ctx)}
          ${spec.after && fields(`${ip}.`, spec.after, ctx)}
        </div>`}
        ${spec.item === 'channel' && html`<${ChannelTest} item=${item} ip=${ip} ctx=${ctx} />`}
        ${item.type === 'tou' && html`<${ListEditor} base=${`${ip}.`} ctx=${ctx} spec=${{ key: 'zones', min: 0, max: 16, item: 'zone',
          newItem: () => ({ days: 'daily', from: '00:00', to: '24:00', price_per_kwh: 0.3 }), fields: ZONES }} />`}
        <button type="button" class="secondary" data-testid=${`remove-${ip}`} disabled=${items.length <= spec.min}
          onClick=${() => remove(i)}>${t('settings.remove', { what: t(`settings.item.${spec.item}`) })}</button>
      </fieldset>`;
    })}
    <button type="button" class="secondary" data-testid=${`add-${path}`} disabled=${items.length >= spec.max}
      onClick=${add}>${t('settings.add', { what: t(`settings.item.${spec.item}`) })}</button>
  </div>`;
}

// The site's place search and map (components/site-picker.js), loaded when first shown so the
// first view does not carry them; the module gets what it uses from here. Settings shows them
// on request (the map's tiles come from a server beyond the LAN), the setup at once (open).
let sitePickerLoad = null;
const loadSitePicker = () => (sitePickerLoad ||= import('../components/site-picker.js')
  .then((m) => m.makeSitePicker({ html, useEffect, useRef, useState, t, lang, get, query }))
  .catch((e) => {
    sitePickerLoad = null;
    throw e;
  }));
export function LazySitePicker({ ctx, open: openAtOnce }) {
  const [open, setOpen] = useState(!!openAtOnce);
  const [loaded, setLoaded] = useState(null); // {SitePicker} | {error}
  const site = ctx.saved?.site || {};
  const wanted = open && Boolean(site.map_tiles_url || site.geocoder_url);
  useEffect(() => {
    if (!wanted || loaded?.SitePicker) return undefined;
    let live = true;
    loadSitePicker().then((SitePicker) => live && setLoaded({ SitePicker }), (e) => live && setLoaded({ error: e.message }));
    return () => { live = false; };
  }, [wanted]);
  if (!site.map_tiles_url && !site.geocoder_url) return null;
  if (!open) {
    return html`<button type="button" class="secondary" data-testid="site-picker-open" onClick=${() => setOpen(true)}>
      ${t('picker.open')}</button>`;
  }
  if (loaded?.error) return html`<p class="field-error" role="alert">${t('picker.loadFailed', { e: loaded.error })}</p>`;
  if (!loaded) return html`<p class="hint">${t('common.loading')}</p>`;
  return html`<${loaded.SitePicker} ctx=${ctx} />`;
}

// The device catalogue (GET /api/v1/devices/catalogue), made by the daemon from its driver
// table: brands, their models and the roles each model can have. Loaded once.
let catalogueAsk = null;
export function useCatalogue() {
  const [catalogue, setCatalogue] = useState(null);
  useEffect(() => {
    catalogueAsk = catalogueAsk || get('/devices/catalogue').catch((e) => { catalogueAsk = null; throw e; });
    let live = true;
    catalogueAsk.then((c) => live && setCatalogue(c.drivers || [])).catch(() => live && setCatalogue([]));
    return () => { live = false; };
  }, []);
  return catalogue;
}

// What a host field must hold: a name or an address, no scheme, port or path. The daemon
// checks the same (src/drivers/drivers.c); here it shows while typing.
export function hostProblem(host) {
  if (!host) return null;
  if (host.includes('://')) return t('onb.hostScheme');
  const colons = (host.match(/:/g) || []).length;
  if (colons === 1) return t('onb.hostPort', { port: host.split(':')[1] });
  if (/[/?#@\s[\]]/.test(host)) return t('onb.hostChars');
  return null;
}

// Options most devices never need: behind "More options".
const ADVANCED = new Set(['channel', 'poll_interval_s', 'timeout_s', 'power_scale', 'power_key', 'soc_key', 'state_key',
  'path', 'command_topic', 'command_payload']);

const modelKey = (type, name) => `${type}|${name}`;

// A device chosen by brand and model from the catalogue (or found by DeviceFinder, its
// catalogue model as hint); the model picks the driver (type) and the roles offered. Host and port for drivers that are reached at an address, the
// driver's further options, and Test: one real reading before saving.
export function DeviceEditor({ ip, item, ctx, hint }) {
  const catalogue = ctx.catalogue;
  const [model, setModel] = useState(hint || null);
  if (!catalogue || !catalogue.length) {
    return html`<div class="fields">${fields(`${ip}.`, [['id', 'text', { required: true }], ['type', 'text', {}], ['name', 'text', {}],
      ['host', 'text', {}], ['port', 'int', {}]], ctx)}</div>`;
  }
  const driver = catalogue.find((d) => d.type === item.type) || catalogue[0];
  const brands = [...new Set(catalogue.map((d) => d.brand))];
  const models = catalogue.filter((d) => d.brand === driver.brand).flatMap((d) => d.models.map((m) => ({ ...m, type: d.type })));
  const roleOf = (m) => (m.roles.includes(item.role) ? item.role : m.roles[0] || '');
  const chosen = models.find((m) => modelKey(m.type, m.name) === model && m.type === item.type) ||
    models.find((m) => m.type === item.type && m.roles.includes(item.role || 'meter')) || models.find((m) => m.type === item.type) || models[0];
  const pick = (m) => {
    setModel(modelKey(m.type, m.name));
    const next = { ...item, type: m.type, role: roleOf(m) };
    if (!catalogue.find((d) => d.type === m.type)?.host) delete next.host;
    ctx.change(ip, next);
  };
  const pickBrand = (brand) => {
    const first = catalogue.find((d) => d.brand === brand);
    pick({ ...first.models[0], type: first.type });
  };
  const id = ip.replace(/[^A-Za-z0-9_-]/g, '-');
  const roles = chosen?.roles?.filter((r) => r) || [];
  const options = (driver.options || []).map((k) => DEVICE_FIELD[k]).filter((f) => f && f[0] !== 'role');
  const basic = options.filter((f) => !ADVANCED.has(f[0]));
  const advanced = options.filter((f) => ADVANCED.has(f[0]));
  const advancedError = advanced.some((f) => ctx.errors[`${ip}.${f[0]}`]);
  const hostError = driver.host && hostProblem(item.host);
  return html`<div class="fields device-fields">
    ${fields(`${ip}.`, [['id', 'text', { required: true }], ['name', 'text', {}]], ctx)}
    <div class="field"><label for=${`${id}-brand`}>${t('onb.brand')}</label>
      <div class="input-row"><select id=${`${id}-brand`} data-testid=${`brand-${ip}`} value=${driver.brand} onChange=${(e) => pickBrand(e.currentTarget.value)}>
        ${brands.map((b) => html`<option value=${b} selected=${b === driver.brand}>${tOr(`brand.${b}`, b)}</option>`)}</select></div></div>
    <div class="field"><label for=${`${id}-model`}>${t('onb.model')}</label>
      <div class="input-row"><select id=${`${id}-model`} data-testid=${`model-${ip}`} value=${chosen ? modelKey(chosen.type, chosen.name) : ''}
        onChange=${(e) => pick(models.find((m) => modelKey(m.type, m.name) === e.currentTarget.value))}>
        ${models.map((m) => html`<option value=${modelKey(m.type, m.name)} selected=${m === chosen}>${m.name}</option>`)}</select></div>
      <span class="hint">${driver.description} (${driver.type})</span></div>
    ${roles.length > 0 && fields(`${ip}.`, [['role', 'select', { options: roles }]], ctx)}
    ${driver.host && fields(`${ip}.`, [['host', 'text', { required: true, placeholder: '192.168.1.50' }],
      ['port', 'int', { placeholder: String(driver.default_port || ''), hint: () => t('onb.portDefault', { port: driver.default_port }) }]], ctx)}
    ${hostError && !ctx.errors[`${ip}.host`] && html`<p class="field-error" data-testid=${`hostcheck-${ip}`} role="alert">${hostError}</p>`}
    ${fields(`${ip}.`, basic, ctx)}
    ${advanced.length > 0 && html`<details class="more" open=${advancedError}><summary>${t('onb.more')}</summary>
      <div class="fields">${fields(`${ip}.`, advanced, ctx)}</div></details>`}
    <${DeviceTest} ip=${ip} item=${item} ctx=${ctx} disabled=${!!hostError} />
  </div>`;
}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

// Test: POST /api/v1/devices/test with the item as it is in the form, then the answer of
// GET /api/v1/devices/test/{id} once the daemon has read the device (a few seconds at most).
function DeviceTest({ ip, item, ctx, disabled }) {
  const [state, setState] = useState(null);
  const run = async () => {
    setState({ busy: true });
    try {
      let answer = await post('/devices/test', item);
      for (let i = 0; i < 100 && answer.state === 'pending'; i++) {
        await sleepMs(250);
        answer = await get(`/devices/test/${answer.id}`);
      }
      setState(answer);
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && Array.isArray(e.body?.errors)) {
        ctx.setErrors((old) => ({ ...old, ...Object.fromEntries(e.body.errors.map((x) => [`${ip}.${x.path}`, x.message])) }));
        setState({ state: 'failed', error: e.body.error });
      } else setState({ state: 'failed', error: e.message });
    }
  };
  const values = state?.values ? Object.entries(state.values) : [];
  const unitOf = (k) => ({ w: 'W', pct: '%', v: 'V', a: 'A', wh: 'Wh', c: '°C', hz: 'Hz' })[k.split('_').pop()] || '';
  const fmtValue = (k, v) => `${tOr(`onb.value.${k}`, k)}: ${v} ${unitOf(k)}`;
  return html`<div class="device-test">
    <button type="button" class="secondary" data-testid=${`test-${ip}`} disabled=${disabled || state?.busy} onClick=${run}>
      ${state?.busy ? t('onb.testing') : t('onb.test')}</button>
    ${state?.state === 'ok' && html`<div class="ok" role="status" data-testid=${`test-result-${ip}`}>
      <p>${t('onb.testOk', { model: state.model || '?', firmware: state.firmware || '?' })}</p>
      <ul class="test-values">${values.slice(0, 8).map(([k, v]) => html`<li>${fmtValue(k, v)}</li>`)}</ul></div>`}
    ${state?.state === 'failed' && html`<p class="field-error" role="alert" data-testid=${`test-error-${ip}`} data-code=${state.error_code || ''}>${t('onb.testFailed', { e: state.error_code ? faultSentence(state.error_code) : state.error })}${state.error_code
      && html` <code class="fault-detail" lang="en">${state.error}</code>`}</p>`}
  </div>`;
}

// Test per notification channel: the daemon sends a test message through the channel as it
// is saved (POST /api/v1/notifications/test?channel=<id>), so an edited channel is saved first.
function ChannelTest({ item, ip, ctx }) {
  const [state, setState] = useState(null);
  const saved = (ctx.saved?.notifications?.channels || []).find((c) => c.id === item.id);
  const same = saved && JSON.stringify(saved) === JSON.stringify(item);
  const run = async () => {
    setState({ busy: true });
    try {
      await post(`/notifications/test?channel=${encodeURIComponent(item.id)}`);
      let last = 'pending';
      for (let i = 0; i < 40 && last === 'pending'; i++) {
        await sleepMs(250);
        const answer = await get('/notifications/channels');
        last = (answer.channels || []).find((c) => c.id === item.id)?.last_test || 'pending';
      }
      setState(last === 'ok' ? { ok: true } : { error: last });
    } catch (e) {
      setState({ error: e.message });
    }
  };
  return html`<div class="device-test">
    <button type="button" class="secondary" data-testid=${`test-${ip}`} disabled=${!same || state?.busy} onClick=${run}>${t('onb.channelTest')}</button>
    ${!same && html`<span class="hint">${t('onb.channelSaveFirst')}</span>`}
    ${state?.ok && html`<p class="ok" role="status" data-testid=${`test-result-${ip}`}>${t('onb.channelSent')}</p>`}
    ${state?.error && html`<p class="field-error" role="alert" data-testid=${`test-error-${ip}`}>${state.error}</p>`}
  </div>`;
}

function StrategySwitch({ strategy, onChanged }) {
  const [choice, setChoice] = useState(strategy?.active || '');
  const [state, setState] = useState(null);
  useEffect(() => setChoice(strategy?.active || ''), [strategy?.active]);
  if (!strategy) return null;
  const apply = async () => {
    setState({ busy: true });
    try {
      await put('/strategy', { strategy: choice });
      setState({ ok: true });
      onChanged();
      loadPlan();
    } catch (e) {
      setState({ error: e.message });
    }
  };
  const desc = strategyDescription(choice, strategy.strategies?.find((x) => x.name === choice)?.description);
  return html`<section class="card" aria-labelledby="h-strategy">
    <h2 id="h-strategy">${t('settings.strategyNow')}</h2>
    <p class="hint">${t('settings.strategyHint', { configured: tOr(`opt.${strategy.configured}`, strategy.configured) })}</p>
    <div class="field">
      <label for="strategy-active">${t('settings.strategyActive')}</label>
      <div class="input-row">
        <select id="strategy-active" data-testid="strategy-active" value=${choice} onChange=${(e) => setChoice(e.currentTarget.value)}>
          ${(strategy.strategies || []).map((x) => html`<option value=${x.name} selected=${x.name === choice}>${tOr(`opt.${x.name}`, x.name)}</option>`)}
        </select>
        <button type="button" data-testid="strategy-apply" disabled=${state?.busy || choice === strategy.active} onClick=${apply}>${t('settings.apply')}</button>
      </div>
      ${desc && html`<p class="hint">${desc}</p>`}
      ${state?.ok && html`<p class="ok" role="status" data-testid="strategy-applied">${t('settings.strategyApplied')}</p>`}
      ${state?.error && html`<p class="field-error" role="alert">${state.error}</p>`}
    </div>
  </section>`;
}

const clone = (o) => JSON.parse(JSON.stringify(o));
const omit = (o, k) => {
  const { [k]: _, ...rest } = o;
  return rest;
};

export function SettingsView({ s, route }) {
  const [draft, setDraft] = useState(() => (s.config ? clone(s.config) : null));
  const [errors, setErrors] = useState({});
  const [result, setResult] = useState(null); // {ok, restart} | {error, unmatched}
  const [saving, setSaving] = useState(false);
  const [raw, setRaw] = useState({}); // numeric fields as typed
  const [strategy, setStrategy] = useState(null);
  const registry = useRef([]);
  const loadStrategy = () => get('/strategy').then(setStrategy).catch(() => setStrategy(null));
  useEffect(() => { loadStrategy(); }, []);
  useEffect(() => {
    if (!draft && s.config) setDraft(clone(s.config));
  }, [s.config]);
  const section = route?.params?.section;
  useEffect(() => {
    if (draft && section) document.getElementById(`h-sec-${section}`)?.scrollIntoView({ block: 'start' });
  }, [!draft, section]);
  const catalogue = useCatalogue();
  const strategies = useMemo(() => strategy?.strategies?.map((x) => x.name) || ['optimal', 'self_consumption', 'fixed_schedule'], [strategy]);

  if (!draft) return html`<section class="view" data-testid="view-settings"><h1 class="view-title">${t('nav.settings')}</h1><p>${t('common.loading')}</p></section>`;

  const change = (path, value, typed) => {
    setRaw((r) => {
      if (typed !== undefined) return { ...r, [path]: typed };
      // A list that changed shifts its items' paths: forget what was typed inside it.
      if (Array.isArray(value)) return Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith(`${path}[`)));
      return path in r ? omit(r, path) : r;
    });
    setDraft((d) => {
      const next = clone(d);
      setAt(next, path, value);
      return next;
    });
    setErrors((e) => (path in e ? omit(e, path) : e));
    setResult(null);
  };

  registry.current = [];
  const ctx = { draft, raw, errors, setErrors, change, registry: registry.current, strategies, currency: draft.tariff?.currency,
    catalogue, saved: s.config };

  const save = async (event) => {
    event.preventDefault();
    const found = {};
    for (const { path, kind, opts } of registry.current) {
      const v = getAt(draft, path);
      if (opts.required && (v === '' || v == null)) found[path] = t('settings.required');
      else if (NUMERIC.has(kind) && v !== '' && v != null && typeof v !== 'number') found[path] = t('settings.notNumber');
      else if (NUMERIC.has(kind) && v === '') found[path] = t('settings.required');
      else if (/^devices\[\d+\]\.host$/.test(path) && hostProblem(v)) found[path] = hostProblem(v);
    }
    if (Object.keys(found).length) {
      setErrors(found);
      setResult({ error: t('settings.checkFields'), unmatched: [] });
      focusFirstError();
      return;
    }
    setSaving(true);
    try {
      // The answer: {"config": {…}, "restart_required": […]} (older drafts of the API sent
      // the config itself with restart_required beside its sections).
      const answer = await put('/config', draft);
      const restart = answer?.restart_required || [];
      const applied = answer?.config || answer;
      if (applied) {
        delete applied.restart_required;
        reloadConfig(applied);
        setDraft(clone(applied));
        setRaw({});
      }
      setErrors({});
      setResult({ ok: true, restart });
      loadStrategy();
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && Array.isArray(e.body?.errors)) {
        const map = {};
        const shown = new Set(registry.current.map((f) => f.path));
        const unmatched = [];
        for (const item of e.body.errors) {
          const { path } = item;
          const message = errorText(item);
          // A path without a field of its own shows at the nearest list or item heading.
          let p = path;
          while (p && !shown.has(p) && !/\]$/.test(p) && !isList(draft, p)) p = parent(p);
          if (p && (shown.has(p) || /\]$/.test(p) || isList(draft, p))) map[p] = map[p] ? `${map[p]}; ${message}` : message;
          else unmatched.push({ path, message });
        }
        setErrors(map);
        setResult({ error: e.message || t('settings.failed'), unmatched });
        focusFirstError();
      } else {
        setResult({ error: e.status === 404 || e.status === 405 ? t('settings.noPut') : e.message, unmatched: [] });
      }
    } finally {
      setSaving(false);
    }
  };
  const reset = () => {
    setDraft(clone(s.config));
    setRaw({});
    setErrors({});
    setResult(null);
  };

  return html`<section class="view settings" data-testid="view-settings" aria-labelledby="h-settings">
    <h1 id="h-settings" class="view-title">${t('nav.settings')}</h1>
    <${StrategySwitch} strategy=${strategy} onChanged=${loadStrategy} />
    <${AccessCard} auth=${s.auth} />
    <form class="settings-form" onSubmit=${save} noValidate>
      ${SECTIONS.map((sec) => html`<section class="card" key=${sec.id} aria-labelledby=${`h-sec-${sec.id}`}>
        <h2 id=${`h-sec-${sec.id}`}>${t(`settings.section.${sec.id}`)}</h2>
        ${sec.fields && html`<div class="fields">${fields(sec.base || `${sec.id}.`, sec.fields, ctx)}</div>`}
        ${sec.id === 'site' && html`<${LazySitePicker} ctx=${ctx} />`}
        ${(sec.lists || []).map((l) => html`<${ListEditor} base=${`${sec.id}.`} spec=${l} ctx=${ctx} />`)}
        ${sec.list && html`<${ListEditor} base="" spec=${sec.list} ctx=${ctx} />`}
      </section>`)}
      <datalist id="tz-list">${zoneList().map((z) => html`<option value=${z} />`)}</datalist>
      <div class="save-bar" role="region" aria-label=${t('settings.save')}>
        ${result?.ok && html`<p class="ok" role="status" data-testid="settings-saved">${t('settings.saved')}
          ${result.restart?.length > 0 && html` ${t('settings.restart', { list: result.restart.join(', ') })}`}</p>`}
        ${result?.error && html`<div class="field-error" role="alert" data-testid="settings-error"><p>${result.error}</p>
          ${result.unmatched?.length > 0 && html`<ul data-testid="settings-errors">${result.unmatched.map((u) => html`<li><code>${u.path}</code>: ${u.message}</li>`)}</ul>`}</div>`}
        <div class="buttons">
          <button type="button" class="secondary" onClick=${reset} disabled=${saving}>${t('settings.reset')}</button>
          <button type="submit" data-testid="settings-save" disabled=${saving}>${saving ? t('settings.saving') : t('settings.save')}</button>
        </div>
      </div>
    </form>
  </section>`;
}

const parent = (p) => p.replace(/(\.[^.[\]]+|\[\d+\])$/, '') === p ? '' : p.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
const isList = (draft, p) => Array.isArray(getAt(draft, p));

function focusFirstError() {
  requestAnimationFrame(() => requestAnimationFrame(() => {
    const el = document.querySelector('.settings-form [aria-invalid="true"], .settings-form .field-error');
    el?.scrollIntoView({ block: 'center', behavior: 'smooth' });
    if (el?.focus && el.matches('input,select')) el.focus({ preventScroll: true });
  }));
}
