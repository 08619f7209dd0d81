// Finding a device instead of choosing it: the user enters an address and presses Detect
// (POST /api/v1/devices/detect), or searches the network (POST /api/v1/devices/browse, mDNS)
// and detects one of the candidates. What was found shows with its live reading; "Use this"
// adds it as a new device to the list being edited (Settings → Devices and the setup's
// devices step), with the daemon's ready config and a role the model can have, so only
// Save is left. When nothing was recognised, one sentence says what to check, and each
// probe's outcome is listed in the page's language (docs/devices.md, "Detecting a device").
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { errorText, t, tOr, valueLabel } from '../i18n.js';
import { ApiError, post } from '../api.js';
import { num, valueWithUnit } from '../fmt.js';

// The probes' devices by their product names, which no language translates.
const PROBE_NAMES = {
  shelly: 'Shelly', opendtu: 'OpenDTU', ahoydtu: 'AhoyDTU', tasmota: 'Tasmota', esphome: 'ESPHome', zendure: 'Zendure',
  apsystems_ez1: 'APsystems EZ1', marstek_venus: 'Marstek Venus', sunspec: 'SunSpec (Modbus TCP)',
};
// Outcomes that mean nothing answered at all (src/devices/detect.c, outcome_of).
const SILENT = new Set(['skipped', 'timeout', 'refused', 'unreachable', 'no_answer', 'error']);
// The page gives up waiting after this; the daemon's probes end well before (9 probes,
// 1.5 s each at most, most skipped once a port stayed silent).
const WAIT_MS = 45000;
const BROWSE_MS = 3000;

// The catalogue model the answer is: the daemon's match ("catalogue_model"), else the
// first model of the type that can have the detected role, else the type's first.
export function detectedModel(driver, answer) {
  const models = driver?.models || [];
  const role = answer.config?.role;
  return models.find((m) => m.name === answer.catalogue_model) || models.find((m) => role && m.roles.includes(role)) ||
    models[0] || null;
}

// A new device entry from a detection: the ready config, an id no other entry has, a role
// the model can have (its usual one when the detected role is not among them), and a name.
export function itemFromDetect(answer, catalogue, items) {
  const item = { ...answer.config };
  const driver = (catalogue || []).find((d) => d.type === item.type);
  const model = detectedModel(driver, answer);
  const roles = (model?.roles || []).filter(Boolean);
  if (roles.length) item.role = roles.includes(item.role) ? item.role : roles[0];
  const ids = new Set(items.map((d) => d.id));
  const base = item.id || item.type || 'device';
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
  item.id = id;
  if (!item.name) {
    const brand = driver && driver.brand !== 'Other' ? driver.brand : '';
    item.name = [brand, answer.catalogue_model || answer.model].filter(Boolean).join(' ');
  }
  return { item, model };
}

// Seconds since start while busy, for the progress line.
function useSeconds(busy) {
  const [s, setS] = useState(0);
  useEffect(() => {
    if (!busy) return undefined;
    setS(0);
    const started = Date.now();
    const timer = setInterval(() => setS(Math.floor((Date.now() - started) / 1000)), 500);
    return () => clearInterval(timer);
  }, [busy]);
  return s;
}

// post(), or a rejection after ms (the daemon keeps working; the page says so).
function postWithin(path, body, ms) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('late')), ms); });
  return Promise.race([post(path, body), late]).finally(() => clearTimeout(timer));
}

const shownValue = (k, v) => (typeof v === 'number' && /_w$/.test(k) ? `${num(v, 1)} W` : valueWithUnit(k, v));

// The outcomes the daemon names (an unknown one reads as "answered").
const OUTCOMES = new Set(['found', 'skipped', 'timeout', 'refused', 'unresolved', 'unreachable', 'no_answer', 'http_status',
  'answered', 'error']);

function Probes({ probes }) {
  return html`<details class="probes"><summary>${t('detect.probes')}</summary>
    <ul data-testid="detect-probes">${(probes || []).map((p) => html`<li title=${p.result}>
      <strong>${PROBE_NAMES[p.probe] || p.probe}</strong>: ${t(`detect.outcome.${OUTCOMES.has(p.outcome) ? p.outcome : 'answered'}`,
        { port: p.port, result: p.result })}</li>`)}</ul></details>`;
}
function Nothing({ answer, asked }) {
  const outcomes = (answer.probes || []).map((p) => p.outcome);
  const key = outcomes.includes('unresolved') ? 'detect.nothing.unresolved'
    : outcomes.every((o) => SILENT.has(o)) ? 'detect.nothing.silent' : 'detect.nothing.other';
  return html`<div class="finder-result" role="alert" data-testid="detect-nothing">
    <p class="field-error">${t(key, { host: asked })}</p>
    <${Probes} probes=${answer.probes} /></div>`;
}

function Found({ answer, catalogue, items, onUse }) {
  const driver = (catalogue || []).find((d) => d.type === answer.type);
  const { item, model } = itemFromDetect(answer, catalogue, items);
  const brand = driver && driver.brand !== 'Other' ? tOr(`brand.${driver.brand}`, driver.brand) : '';
  const title = [brand, model?.name || answer.model].filter(Boolean).join(' ');
  const reading = Object.entries(answer.reading || {});
  const address = item.port ? `${item.host}:${item.port}` : item.host;
  return html`<div class="finder-result ok-box" role="status" data-testid="detect-result">
    <p><strong data-testid="detect-model">${t('detect.found', { model: title })}</strong></p>
    <p class="hint">${t('detect.detail', { model: answer.model || '?', firmware: answer.firmware || t('detect.noFirmware') })}</p>
    ${reading.length > 0 && html`<p>${t('detect.readingNow')}</p><ul class="test-values" data-testid="detect-reading">
      ${reading.map(([k, v]) => html`<li>${valueLabel(k)}: ${shownValue(k, v)}</li>`)}</ul>`}
    ${!reading.length && html`<p class="hint" title=${answer.reading_error || ''}>${t('detect.noReading')}</p>`}
    ${answer.inverters > 1 && html`<p class="hint">${t('detect.moreInverters', { n: answer.inverters })}</p>`}
    <p class="hint">${t('detect.becomes', { id: item.id, role: item.role ? tOr(`role.${item.role}`, item.role) : '–', address })}</p>
    <button type="button" data-testid="detect-use" onClick=${() => onUse(item, model?.name)}>${t('detect.use')}</button>
  </div>`;
}

export function DeviceFinder({ catalogue, items, onUse, idBase = 'finder' }) {
  const [host, setHost] = useState('');
  const [hostError, setHostError] = useState(null);
  const [state, setState] = useState(null); // {busy} | {answer, asked} | {error} | {used}
  const [browse, setBrowse] = useState(null); // {busy} | {candidates} | {error}
  const seconds = useSeconds(state?.busy || browse?.busy);
  const input = useRef(null);
  const busy = state?.busy || browse?.busy;

  const detect = async (target) => {
    const asked = (target ?? host).trim();
    if (target !== undefined) setHost(target);
    if (!asked) return setHostError(t('detect.hostEmpty'));
    if (asked.includes('://') || asked.includes('/')) return setHostError(t('onb.hostScheme'));
    setHostError(null);
    setState({ busy: true, asked });
    try {
      const answer = await postWithin('/devices/detect', { host: asked }, WAIT_MS);
      setState({ answer, asked });
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        setHostError(errorText(e.body) || e.message);
        setState(null);
        input.current?.focus();
      } else if (e instanceof ApiError) setState({ error: errorText(e.body) || e.message });
      else if (e.message === 'late') setState({ error: t('detect.slow', { s: Math.round(WAIT_MS / 1000) }) });
      else setState({ error: t('detect.failed', { e: e.message }) });
    }
  };

  const search = async () => {
    setBrowse({ busy: true });
    try {
      const answer = await postWithin('/devices/browse', { timeout_ms: BROWSE_MS }, WAIT_MS);
      setBrowse({ candidates: answer.candidates || [] });
    } catch (e) {
      if (e instanceof ApiError) setBrowse({ error: errorText(e.body) || e.message });
      else setBrowse({ error: e.message === 'late' ? t('detect.slow', { s: Math.round(WAIT_MS / 1000) }) : t('detect.failed', { e: e.message }) });
    }
  };

  const use = (item, model) => {
    onUse(item, model);
    setState({ used: items.length + 1 });
  };

  const brandOf = (type) => {
    const d = (catalogue || []).find((x) => x.type === type);
    return d && d.brand !== 'Other' ? tOr(`brand.${d.brand}`, d.brand) : '';
  };
  const id = `${idBase}-host`;
  return html`<section class="finder" data-testid="finder" aria-labelledby=${`${idBase}-h`}>
    <h3 id=${`${idBase}-h`}>${t('detect.title')}</h3>
    <p class="hint">${t('detect.hint')}</p>
    <div class=${`field ${hostError ? 'has-error' : ''}`}>
      <label for=${id}>${t('detect.host')}</label>
      <div class="input-row">
        <input id=${id} ref=${input} data-testid="detect-host" value=${host} placeholder="192.168.1.50" autocomplete="off"
          aria-invalid=${hostError ? 'true' : undefined} aria-describedby=${hostError ? `${id}-err` : undefined}
          onInput=${(e) => { setHost(e.currentTarget.value); setHostError(null); }}
          onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); if (!busy) detect(); } }} />
        <button type="button" data-testid="detect-run" disabled=${busy} onClick=${() => detect()}>${t('detect.run')}</button>
      </div>
      ${hostError && html`<p class="field-error" id=${`${id}-err`} data-testid="detect-host-error" role="alert">${hostError}</p>`}
    </div>
    <button type="button" class="secondary" data-testid="browse-run" disabled=${busy} onClick=${search}>${t('detect.browse')}</button>
    ${state?.busy && html`<p class="finder-busy" role="status" data-testid="detect-busy"><progress></progress>
      ${t('detect.running', { host: state.asked, s: seconds })}</p>`}
    ${browse?.busy && html`<p class="finder-busy" role="status" data-testid="browse-busy"><progress></progress>
      ${t('detect.browsing', { s: seconds })}</p>`}
    ${browse?.error && html`<p class="field-error" role="alert" data-testid="browse-error">${browse.error}</p>`}
    ${browse?.candidates && !browse.candidates.length && html`<p class="hint" data-testid="browse-none">${t('detect.browseNone', { s: BROWSE_MS / 1000 })}</p>`}
    ${browse?.candidates?.length > 0 && html`<div class="finder-candidates">
      <p>${t('detect.browseFound', { n: browse.candidates.length })}</p>
      <ul data-testid="browse-list">${browse.candidates.map((c, i) => html`<li key=${`${c.name}-${c.detect}`}>
        <span><strong>${c.txt?.friendly_name || c.name}</strong> <span class="hint">${[brandOf(c.likely_type), c.detect].filter(Boolean).join(' · ')}</span></span>
        <button type="button" class="secondary" data-testid=${`browse-detect-${i}`} disabled=${busy} onClick=${() => detect(c.detect)}>${t('detect.run')}</button>
      </li>`)}</ul></div>`}
    ${state?.error && html`<p class="field-error" role="alert" data-testid="detect-error">${state.error}</p>`}
    ${state?.answer && (state.answer.found
      ? html`<${Found} answer=${state.answer} catalogue=${catalogue} items=${items} onUse=${use} />`
      : html`<${Nothing} answer=${state.answer} asked=${state.asked} />`)}
    ${state?.used && html`<p class="ok" role="status" data-testid="detect-used">${t('detect.used', { n: state.used })}</p>`}
  </section>`;
}
