// Settings: a form over GET /api/v1/config. Save sends the whole document with PUT
// /api/v1/config; the server validates (the table in src/core/config_table.c) and a 400 lists
// errors by JSON path, each shown next to its field (data-testid error-<path>). Here only
// light checks: required fields filled, numbers are numbers. The strategy can also be switched
// at run time (PUT /api/v1/strategy) without touching the config.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { AccessCard } from './access.js';
import { errorText, strategyDescription, t, tOr } from '../i18n.js';
import { ApiError, get, put } from '../api.js';
import { loadPlan, reloadConfig } from '../store.js';
import { SECTIONS, ZONE_FIELDS as ZONES } from '../settings-schema.js';

// "pv.planes[0].peak_w" <-> ['pv', 'planes', 0, 'peak_w']
const split = (path) => path.replace(/\[(\d+)\]/g, '.$1').split('.').map((k) => (/^\d+$/.test(k) ? +k : k));
const getAt = (obj, path) => split(path).reduce((o, k) => (o == null ? undefined : o[k]), obj);
function setAt(obj, path, value) {
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
const NUMERIC = new Set(['number', 'int']);

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

function Field({ path, kind, opts, ctx }) {
  const value = getAt(ctx.draft, path);
  const error = ctx.errors[path];
  const id = domId(path);
  ctx.registry.push({ path, kind, opts });
  const onInput = (e) => {
    const el = e.currentTarget;
    let v;
    if (kind === 'bool') v = el.checked;
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
    input = html`<select ...${common} value=${value ?? ''} onChange=${onInput}>
      ${options.map((o) => html`<option value=${o} selected=${o === value}>${tOr(`opt.${o}`, o)}</option>`)}</select>`;
  } else {
    const type = { number: 'number', int: 'number', secret: 'password', time: 'time', date: 'date' }[kind] || 'text';
    const shown = NUMERIC.has(kind) && path in ctx.raw ? ctx.raw[path] : value ?? '';
    input = html`<input type=${type} ...${common} value=${shown} onInput=${onInput}
      step=${kind === 'int' ? '1' : kind === 'number' ? 'any' : undefined} inputmode=${NUMERIC.has(kind) ? 'decimal' : undefined}
      autocomplete=${kind === 'secret' ? 'new-password' : 'off'} placeholder=${opts.placeholder}
      list=${kind === 'tz' ? 'tz-list' : undefined} />`;
  }
  const unit = unitText(opts.unit, ctx.currency);
  return html`<div class=${`field ${kind === 'bool' ? 'check' : ''} ${error ? 'has-error' : ''}`}>
    <label for=${id}>${t(labelKey(path))}${opts.required ? html`<span aria-hidden="true"> *</span>` : ''}</label>
    <div class="input-row">${input}${unit && html`<span class="unit">${unit}</span>`}</div>
    ${kind === 'secret' && value === '***' && html`<span class="hint">${t('settings.secretKept')}</span>`}
    ${error && html`<p class="field-error" id=${`${id}-err`} data-testid=${`error-${path}`} role="alert">${error}</p>`}
  </div>`;
}

const fields = (base, list, ctx) => list.map(([key, kind, opts]) =>
  html`<${Field} key=${`${base}${key}`} path=${`${base}${key}`} kind=${kind} opts=${opts} ctx=${ctx} />`);

// An error for a whole list item (e.g. "devices[2]: duplicate id") shows at its heading.
function ItemError({ path, ctx }) {
  const error = ctx.errors[path];
  return error ? html`<p class="field-error" data-testid=${`error-${path}`} role="alert">${error}</p>` : null;
}

function ListEditor({ base, spec, ctx }) {
  const path = `${base}${spec.key}`;
  const items = getAt(ctx.draft, path) || [];
  const add = () => ctx.change(path, [...items, spec.newItem(items.length)]);
  const remove = (i) => ctx.change(path, items.filter((_, k) => k !== i));
  return html`<div class="list-editor">
    ${base && html`<h3>${t(labelKey(path))}</h3>`}
    <${ItemError} path=${path} ctx=${ctx} />
    ${items.map((item, i) => {
      const ip = `${path}[${i}]`;
      const typed = spec.typed ? spec.typed[item.type] || [] : null;
      return html`<fieldset class="item" key=${`${ip}-${item.id ?? i}`}>
        <legend>${t(`settings.item.${spec.item}`)} ${i + 1}${item.id ? `: ${item.id}` : item.name ? `: ${item.name}` : ''}</legend>
        <${ItemError} path=${ip} ctx=${ctx} />
        <div class="fields">
          ${fields(`${ip}.`, spec.common || spec.fields, ctx)}
          ${typed && fields(`${ip}.`, typed, ctx)}
          ${spec.after && fields(`${ip}.`, spec.after, ctx)}
        </div>
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

export function SettingsView({ s }) {
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
  const ctx = { draft, raw, errors, change, registry: registry.current, strategies, currency: draft.tariff?.currency };

  const save = async (event) => {
    event.preventDefault();
    const found = {};
    for (const { path, kind, opts } of registry.current) {
      const v = getAt(draft, path);
      if (opts.required && (v === '' || v == null)) found[path] = t('settings.required');
      else if (NUMERIC.has(kind) && v !== '' && v != null && typeof v !== 'number') found[path] = t('settings.notNumber');
      else if (NUMERIC.has(kind) && v === '') found[path] = t('settings.required');
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
        ${sec.fields && html`<div class="fields">${fields(`${sec.id}.`, sec.fields, ctx)}</div>`}
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
