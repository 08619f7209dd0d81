// One device in detail (#/devices/<id>): every reading, the inverter's yield, temperature,
// output limit and DC strings, the battery's state, and the device's own command log
// (GET /api/v1/commands?device=<id>). The values come live from the devices event.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { getOptional, query } from '../api.js';
import { fmtDateTime, parseTime, valueWithUnit, watts } from '../fmt.js';
import { SectionNav } from '../components/section-nav.js';
import { FaultText } from '../faults.js';

// The device id in the hash (#/devices/<id>), or null on the list.
export function deviceIdFromHash(hash = location.hash) {
  const m = /^#\/?devices\/([^/?#]+)/.exec(hash);
  return m ? decodeURIComponent(m[1]) : null;
}

// DC strings (per input of an inverter), from value names such as dc1_power_w,
// dc_2_voltage_v, string3_current_a or pv1_power_w: {n: {power_w, voltage_v, …}}.
export function dcStrings(values) {
  const out = {};
  for (const [k, v] of Object.entries(values || {})) {
    const m = /^(?:dc|string|pv|input)_?(\d+)_(\w+)$/.exec(k);
    if (m) (out[m[1]] ||= {})[m[2]] = v;
  }
  return out;
}

const INVERTER = ['power_w', 'dc_power_w', 'yield_day_wh', 'energy_wh', 'temperature_c', 'limit_pct', 'limit_w', 'max_power_w', 'clipped_w', 'producing'];
const BATTERY = ['soc_pct', 'power_w', 'voltage_v', 'current_a', 'stored_wh', 'capacity_wh', 'min_soc_pct', 'max_soc_pct', 'setpoint_w', 'temperature_c', 'failsafe_trips'];
const LABEL = { yield_day_wh: 'dev.yieldToday', energy_wh: 'dev.yieldTotal', temperature_c: 'dev.temperature', limit_pct: 'dev.limit' };

function Values({ values, names, testid }) {
  const shown = names.filter((k) => values[k] != null);
  if (!shown.length) return null;
  return html`<dl class="values" data-testid=${testid}>${shown.map((k) => html`<div data-testid=${`value-${k}`}>
    <dt>${LABEL[k] ? t(LABEL[k]) : tOr(`value.${k}`, k)}</dt><dd>${valueWithUnit(k, values[k])}</dd></div>`)}</dl>`;
}

function CommandLog({ id, version }) {
  const [res, setRes] = useState(undefined);
  useEffect(() => {
    let dead = false;
    getOptional(`/commands?${query({ device: id, limit: 50 })}`).catch((e) => ({ error: e.message }))
      .then((r) => { if (!dead) setRes(r); });
    return () => { dead = true; };
  }, [id, version]);
  const list = res?.commands || [];
  return html`<article class="card" id="dev-commands" data-testid="device-commands"><h2>${t('dev.commands')}</h2>
    ${res === undefined ? html`<p>${t('common.loading')}</p>` : res?.error ? html`<p class="error" role="alert">${res.error}</p>`
    : !list.length ? html`<p class="hint" data-testid="device-commands-empty">${t('dev.noCommands')}</p>`
    : html`<div class="table-wrap"><table class="dev-table">
      <thead><tr><th scope="col">${t('dev.cmd.time')}</th><th scope="col">${t('dev.cmd.command')}</th><th scope="col">${t('dev.cmd.value')}</th>
        <th scope="col">${t('dev.cmd.source')}</th><th scope="col">${t('dev.cmd.result')}</th></tr></thead>
      <tbody>${list.map((c, i) => html`<tr key=${c.request_id ?? i} data-testid="device-command" data-command=${c.command} data-result=${c.result}>
        <td>${fmtDateTime(parseTime(c.ts))}</td><td>${tOr(`commands.${c.command}`, c.command)}</td>
        <td>${['setpoint', 'limit'].includes(c.command) && Number.isFinite(Number(c.value)) ? watts(Number(c.value)) : c.value}</td>
        <td>${c.source}</td><td class=${c.result === 'ok' ? 'ok' : 'error'}>${c.result === 'ok' ? '✓' : c.result}</td></tr>`)}</tbody>
    </table></div>`}
  </article>`;
}

export function DeviceDetail({ s, id }) {
  const d = s.devices?.devices?.find((x) => x.id === id);
  const back = html`<p><a class="dev-link" href="#/devices" data-testid="device-back">← ${t('dev.back')}</a></p>`;
  if (!s.devices) return html`<section class="view" data-testid="view-devices">${back}<p>${t('common.loading')}</p></section>`;
  if (!d) return html`<section class="view" data-testid="view-devices">${back}<p class="error" data-testid="device-not-found">${t('dev.notFound', { id })}</p></section>`;
  const values = d.values || {};
  const roles = d.roles || [];
  const strings = dcStrings(values);
  const inverter = roles.includes('inverter') || INVERTER.slice(1).some((k) => values[k] != null);
  const battery = roles.includes('battery') || values.soc_pct != null;
  const sections = [{ id: 'dev-details', label: t('dev.details') },
    inverter && { id: 'dev-inverter', label: t('dev.inverter') }, battery && { id: 'dev-battery', label: t('dev.battery') },
    { id: 'dev-values', label: t('dev.values') }, { id: 'dev-commands', label: t('dev.commands') }].filter(Boolean);
  return html`<section class="view device-detail" data-testid="view-devices" aria-labelledby="h-dev">
    ${back}
    <div data-testid="device-detail" data-device=${d.id}>
      <h1 id="h-dev" class="view-title">${d.name || d.id}${' '}
        <span class=${`badge ${d.online ? 'ok' : 'bad'}`} data-testid="device-online">${d.online ? 'online' : 'offline'}</span></h1>
      <${SectionNav} sections=${sections} />
      <article class="card" id="dev-details"><h2>${t('dev.details')}</h2>
        <dl class="values">
          <div><dt>${t('f.devices.id')}</dt><dd>${d.id}</dd></div>
          <div><dt>${t('dev.type')}</dt><dd>${d.type || '–'}</dd></div>
          <div><dt>${t('dev.model')}</dt><dd data-testid="device-model">${d.model || '–'}${d.firmware ? ` · ${d.firmware}` : ''}</dd></div>
          <div><dt>${t('dev.roles')}</dt><dd>${roles.map((r) => tOr(`role.${r}`, r)).join(', ') || '–'}</dd></div>
          <div><dt>${t('devices.lastSeen')}</dt><dd>${d.last_seen ? fmtDateTime(parseTime(d.last_seen)) : t('devices.never')}</dd></div>
        </dl>
        ${d.error && html`<${FaultText} code=${d.error_code} detail=${d.error} testid="device-detail-error" />`}
        ${d.warning && html`<p class="error">⚠ ${d.warning}</p>`}
      </article>
      ${inverter && html`<article class="card" id="dev-inverter" data-testid="device-detail-inverter"><h2>${t('dev.inverter')}</h2>
        <${Values} values=${values} names=${INVERTER} testid="inverter-values" />
        ${Object.keys(strings).length > 0 && html`<h3>${t('dev.strings')}</h3><div class="table-wrap"><table class="dev-table" data-testid="dc-strings">
          <tbody>${Object.entries(strings).map(([n, v]) => html`<tr data-testid="dc-string"><th scope="row">${t('dev.string', { n })}</th>
            ${Object.entries(v).map(([k, x]) => html`<td>${valueWithUnit(k, x)}</td>`)}</tr>`)}</tbody></table></div>`}
      </article>`}
      ${battery && html`<article class="card" id="dev-battery" data-testid="device-detail-battery"><h2>${t('dev.battery')}</h2>
        <${Values} values=${values} names=${BATTERY} testid="battery-values" /></article>`}
      <article class="card" id="dev-values"><h2>${t('dev.values')}</h2>
        <dl class="values" data-testid="device-values">${Object.entries(values).map(([k, v]) => html`<div><dt>${tOr(`value.${k}`, k)}</dt>
          <dd>${k === 'on' ? (Number(v) ? t('devices.on') : t('devices.off')) : valueWithUnit(k, v)}</dd></div>`)}</dl>
      </article>
      <${CommandLog} id=${d.id} version=${s.commands?.length ? s.commands[0].ts : 0} />
    </div>
  </section>`;
}
