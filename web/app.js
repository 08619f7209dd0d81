// A first, dependency-free page: shows the site's power balance and devices, refreshed
// every few seconds from the REST API.
'use strict';

const $ = (id) => document.getElementById(id);
const fmt = (v) => (v === null || v === undefined ? '–' : Math.round(v).toLocaleString());

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function showStatus(s) {
  $('pv_w').textContent = fmt(s.pv_w);
  $('home_w').textContent = fmt(s.home_w);
  $('grid_w').textContent = fmt(s.grid_w === null ? null : Math.abs(s.grid_w));
  $('grid_label').textContent = s.grid_w !== null && s.grid_w < 0 ? 'Grid (export)' : 'Grid (import)';
  $('battery_w').textContent = fmt(s.battery_w === null ? null : Math.abs(s.battery_w));
  $('battery_label').textContent = s.battery_w !== null && s.battery_w < 0 ? 'Battery (charging)' : 'Battery (discharging)';
  $('soc_pct').textContent = fmt(s.soc_pct);
  $('soc').value = s.soc_pct ?? 0;
  $('clock').textContent = s.ts ? new Date(s.ts).toLocaleString() : '';
}

function showDevices(list) {
  const body = $('devices').tBodies[0];
  body.replaceChildren(...list.devices.map((d) => {
    const row = document.createElement('tr');
    const cells = [d.id, d.roles.join(', '), d.online ? 'online' : 'offline',
      d.values.power_w === undefined ? '' : `${fmt(d.values.power_w)} W`];
    cells.forEach((text, i) => {
      const cell = document.createElement('td');
      cell.textContent = text;
      if (i === 2) cell.className = d.online ? 'online' : 'offline';
      row.appendChild(cell);
    });
    return row;
  }));
}

async function refresh() {
  try {
    const [status, devices] = await Promise.all([getJson('/api/v1/status'), getJson('/api/v1/devices')]);
    showStatus(status);
    showDevices(devices);
    $('error').textContent = '';
  } catch (err) {
    $('error').textContent = `Cannot reach the daemon: ${err.message}`;
  }
}

getJson('/api/v1/config').then((c) => { $('site').textContent = c.site.name; }).catch(() => {});
refresh();
setInterval(refresh, 2000);
