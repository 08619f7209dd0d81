// Devices & status: every device with its values, switches for smart plugs, the deferrable
// loads with their reason and manual overrides, the data providers, the system and the
// command log.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { deviceModel, loadReason, t, tOr, valueLabel } from '../i18n.js';
import { getOptional, post } from '../api.js';
import { bytes, duration, fmtDateTime, fmtTime, num, parseTime, serverNow, valueWithUnit, watts } from '../fmt.js';
import { loadCommands, update } from '../store.js';
import { DeviceDetail, deviceIdFromHash } from './devices-detail.js';
import { FaultText } from '../faults.js';

function ago(iso) {
  const ms = parseTime(iso);
  if (ms == null) return t('devices.never');
  const s = (serverNow() - ms) / 1000;
  return s < 5 ? t('devices.justNow') : t('devices.ago', { d: duration(s) });
}

function PlugSwitch({ device }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const on = Number(device.values?.on) === 1 || device.values?.on === true;
  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      await post(`/devices/${encodeURIComponent(device.id)}/command`, { command: 'switch', value: on ? 0 : 1 });
      // The device has confirmed (state "done") or will: show its state now rather than with
      // the next devices event.
      const devices = await getOptional('/devices').catch(() => null);
      if (devices) update((s) => { s.devices = devices; });
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="switch-row">
    <button type="button" class=${`switch ${on ? 'on' : ''}`} aria-pressed=${on ? 'true' : 'false'}
      data-testid=${`plug-switch-${device.id}`} disabled=${busy || !device.online} onClick=${toggle}
      aria-label=${t('devices.switchLabel', { name: device.name || device.id })}>
      <span class="knob" aria-hidden="true"></span><span class="switch-text">${on ? t('devices.on') : t('devices.off')}</span>
    </button>
    ${busy && html`<span class="hint">${t('devices.sending')}</span>`}
    ${error && html`<span class="error" role="alert">${error}</span>`}
  </div>`;
}

function DeviceCard({ d }) {
  const values = Object.entries(d.values || {});
  return html`<article class=${`card device ${d.online ? '' : 'is-offline'}`} data-testid=${`device-${d.id}`}
    aria-labelledby=${`dev-${d.id}`}>
    <header class="row">
      <h3 id=${`dev-${d.id}`}><a href=${`#/devices/${encodeURIComponent(d.id)}`} data-testid="device-link">${d.name || d.id}</a></h3>
      <span class=${`badge ${d.online ? 'ok' : 'bad'}`} data-testid="device-online">${d.online ? t('devices.online') : t('devices.offline')}</span>
    </header>
    <p class="hint">${[d.name && d.name !== d.id && d.id, deviceModel(d.model), (d.roles || []).map((r) => tOr(`role.${r}`, r)).join(', '), d.firmware]
      .filter(Boolean).join(' · ')}</p>
    <p class="hint">${t('devices.lastSeen')} <span data-testid="device-last-seen" title=${d.last_seen || ''}>${ago(d.last_seen)}</span></p>
    ${d.error && html`<${FaultText} code=${d.error_code} detail=${d.error} testid="device-error" />`}
    ${d.warning && html`<p class="error" data-testid="device-warning">⚠ ${d.warning}</p>`}
    ${values.length > 0 && html`<dl class="values">${values.map(([k, v]) => html`<div><dt>${valueLabel(k)}</dt>
      <dd>${k === 'on' ? (Number(v) ? t('devices.on') : t('devices.off')) : valueWithUnit(k, v)}</dd></div>`)}</dl>`}
    ${(d.roles || []).includes('plug') && html`<${PlugSwitch} device=${d} />`}
  </article>`;
}

function LoadCard({ l }) {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const override = async (state) => {
    setBusy(state);
    setError(null);
    try {
      const entry = await post(`/loads/${encodeURIComponent(l.id)}/override`, { state });
      update((s) => {
        if (s.loads?.loads) s.loads = { ...s.loads, loads: s.loads.loads.map((x) => (x.id === l.id ? { ...x, ...entry } : x)) };
      });
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(null);
    }
  };
  const current = l.override || 'auto';
  return html`<article class="card load" data-testid=${`load-${l.id}`} aria-labelledby=${`load-h-${l.id}`}>
    <header class="row">
      <h3 id=${`load-h-${l.id}`}>${l.name || l.id}</h3>
      <span class=${`badge ${l.on ? 'ok' : ''}`}>${l.on ? t('devices.on') : t('devices.off')}</span>
    </header>
    <p data-testid=${`load-reason-${l.id}`}>${loadReason(l.reason) || '–'}</p>
    <dl class="values">
      <div><dt>${t('loads.mode')}</dt><dd>${tOr(`loads.mode.${l.mode}`, l.mode)}</dd></div>
      <div><dt>${t('loads.power')}</dt><dd>${watts(l.power_w)}</dd></div>
      <div><dt>${t('loads.runToday')}</dt><dd>${Math.round(l.run_today_min ?? 0)} / ${Math.round(l.run_target_min ?? 0)} min</dd></div>
      ${l.next_start && html`<div><dt>${t('loads.nextStart')}</dt><dd>${fmtDateTime(parseTime(l.next_start))}</dd></div>`}
      ${l.override && html`<div><dt>${t('loads.override')}</dt><dd>${tOr(`loads.state.${l.override}`, l.override)}${l.override_until ? ` ${t('loads.until', { t: fmtTime(parseTime(l.override_until)) })}` : ''}</dd></div>`}
      ${!l.plug_online && html`<div><dt>${t('loads.plug')}</dt><dd class="error">${t('loads.plugOffline', { plug: l.plug })}</dd></div>`}
    </dl>
    <div class="segmented" role="group" aria-label=${t('loads.overrideLabel', { name: l.name || l.id })}>
      ${['on', 'off', 'auto'].map((st) => html`<button type="button" data-testid=${`load-override-${l.id}-${st}`}
        class=${current === st ? 'active' : ''} aria-pressed=${current === st ? 'true' : 'false'} disabled=${busy !== null}
        onClick=${() => override(st)}>${t(`loads.state.${st}`)}</button>`)}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </article>`;
}

function ProviderRow({ p }) {
  return html`<li class=${`provider state-${p.state}`} data-testid=${`provider-${p.id}`}>
    <div class="row"><strong>${p.id}</strong> <span class="hint">${p.type} · ${tOr(`provider.kind.${p.kind}`, p.kind)}</span>
      <span class=${`badge ${p.state === 'ok' && !p.stale ? 'ok' : p.state === 'failing' ? 'bad' : ''}`}>${tOr(`provider.state.${p.state}`, p.state)}${p.stale && p.state !== 'stale' ? ` · ${t('provider.stale')}` : ''}</span></div>
    <dl class="values">
      <div><dt>${t('provider.lastSuccess')}</dt><dd>${p.last_success ? fmtDateTime(parseTime(p.last_success)) : t('devices.never')}</dd></div>
      <div><dt>${t('provider.nextRun')}</dt><dd>${p.next_run ? fmtDateTime(parseTime(p.next_run)) : '–'}</dd></div>
      <div><dt>${t('provider.dataUntil')}</dt><dd>${p.data_until ? fmtDateTime(parseTime(p.data_until)) : '–'}</dd></div>
      ${p.consecutive_failures > 0 && html`<div><dt>${t('provider.failures')}</dt><dd>${p.consecutive_failures}</dd></div>`}
    </dl>
    ${p.last_error && html`<${FaultText} code=${p.last_error_code} detail=${p.last_error} testid=${`provider-error-${p.id}`} />`}
    ${p.warning && html`<p class="error" data-testid=${`provider-warning-${p.id}`}>⚠ ${p.warning}</p>`}
  </li>`;
}

// GET /api/v1/system, with GET /api/v1/health for what /system lacks (or all of it, from a
// daemon without /system).
function SystemBlock() {
  const [sys, setSys] = useState(undefined);
  useEffect(() => {
    Promise.all([getOptional('/system').catch(() => null), getOptional('/health').catch(() => null)])
      .then(([system, health]) => setSys({ ...(health || {}), ...(system || {}) }));
  }, []);
  if (sys === undefined) return html`<p>${t('common.loading')}</p>`;
  const row = (key, value, testid, cls) => value != null && value !== '' && html`<div><dt>${t(`system.${key}`)}</dt>
    <dd data-testid=${testid} class=${cls}>${value}</dd></div>`;
  return html`<dl class="values">
    ${row('version', sys.version ?? '–', 'system-version')}
    ${row('uptime', duration(sys.uptime_s), 'system-uptime')}
    ${row('dbSize', bytes(sys.db_size_bytes), 'system-db-size')}
    ${row('started', sys.started && fmtDateTime(parseTime(sys.started)))}
    ${row('timezone', sys.timezone)}
    ${row('clock', sys.clock_speed > 1 && t('system.clockValue', { n: num(sys.clock_speed) }))}
    ${row('streams', sys.sse_clients != null && `${sys.sse_clients} / ${sys.sse_clients_max ?? '–'}`)}
    ${row('mqtt', sys.mqtt && (typeof sys.mqtt === 'object' ? sys.mqtt.state || sys.mqtt.status || JSON.stringify(sys.mqtt) : String(sys.mqtt)))}
    ${row('config', sys.config_path, undefined, 'path')}
    ${row('db', sys.db_path, undefined, 'path')}
  </dl>`;
}

function commandText(c) {
  const v = Number(c.value);
  const value = c.value == null || c.value === '' ? '' : Number.isFinite(v)
    ? ['setpoint', 'limit'].includes(c.command) ? ` ${watts(v)}` : ` ${num(v, 2)}` : ` ${c.value}`;
  return `${c.device}: ${tOr(`commands.${c.command}`, c.command)}${value}`;
}

export function DevicesView({ s }) {
  useEffect(() => { loadCommands(); }, []);
  const detail = deviceIdFromHash();
  if (detail) return html`<${DeviceDetail} s=${s} id=${detail} />`;
  const devices = s.devices?.devices;
  const loads = s.loads?.loads;
  const providers = s.providers?.providers;
  return html`<section class="view devices" data-testid="view-devices" aria-labelledby="h-devices">
    <h1 id="h-devices" class="view-title">${t('devices.title')}</h1>
    <h2>${t('devices.devices')}</h2>
    ${!devices ? html`<p>${t('common.loading')}</p>` : devices.length === 0 ? html`<p class="hint" data-testid="devices-none">${t('devices.none')} <a href="#/setup">${t('onb.setupLink')}</a> · <a href="#/settings">${t('nav.settings')}</a></p>`
      : html`<div class="cards">${devices.map((d) => html`<${DeviceCard} key=${d.id} d=${d} />`)}</div>`}
    ${loads?.length > 0 && html`<h2>${t('loads.title')}</h2>
      <div class="cards">${loads.map((l) => html`<${LoadCard} key=${l.id} l=${l} />`)}</div>`}
    <h2>${t('provider.title')}</h2>
    ${!providers ? html`<p>${t('common.loading')}</p>` : providers.length === 0 ? html`<p class="hint">${t('provider.none')}</p>`
      : html`<ul class="card list providers">${providers.map((p) => html`<${ProviderRow} key=${p.id} p=${p} />`)}</ul>`}
    <div class="cards">
      <article class="card" data-testid="system"><h2>${t('system.title')}</h2><${SystemBlock} /></article>
      <article class="card"><h2>${t('commands.title')}</h2>
        ${s.commands.length === 0 ? html`<p class="hint">${t('commands.none')}</p>` : html`<ol class="commands">
          ${s.commands.slice(0, 10).map((c) => html`<li><time>${fmtTime(parseTime(c.ts))}</time>
            <span>${commandText(c)}</span>
            <span class=${c.result === 'ok' ? 'ok' : 'error'}>${c.result === 'ok' ? '✓' : c.result}</span></li>`)}</ol>`}
      </article>
    </div>
  </section>`;
}
