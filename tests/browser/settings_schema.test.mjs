// The settings form's schema (web/src/settings-schema.js) against the daemon's own tables:
// every device type, provider type and schedule mode the daemon knows is offered by the
// form, and the form offers nothing the daemon would reject. The daemon's lists are read
// from what it already prints: `balkonsolard --check-config` on a config with an unknown
// name in each place answers "unknown device type … (known: …)", "must be one of …".
// No browser is needed; run.sh runs it with the browser tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE_DIR = process.env.BALKON_SOURCE_DIR ||
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const schema = await import(pathToFileURL(path.join(SOURCE_DIR, 'web/src/settings-schema.js')).href);

// The daemon's errors for a config with an unknown name everywhere a list applies.
function daemonErrors() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'balkon-schema-'));
  try {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({
      site: { name: 'schema test', latitude: 52.5, longitude: 13.4, timezone: 'Europe/Berlin' },
      battery: { coupling: 'x-unknown' },
      devices: [{ id: 'd', type: 'x-unknown' }],
      providers: [{ id: 'p', type: 'x-unknown' }],
      notifications: { channels: [{ id: 'c', type: 'x-unknown' }] },
      optimizer: { strategy: 'x-unknown', schedule: [{ from: '17:00', to: '22:00', mode: 'x-unknown' }] },
    }));
    const run = spawnSync(process.env.BALKONSOLARD, ['--check-config', '--config', file], { encoding: 'utf8' });
    assert.equal(run.status, 2, `--check-config should reject the config: ${run.stdout}${run.stderr}`);
    return `${run.stdout}${run.stderr}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The quoted names after `marker` on the line that names `path`.
function listed(errors, path, marker) {
  const line = errors.split('\n').find((l) => l.includes(`: ${path}: `));
  assert.ok(line, `the daemon says nothing about ${path}:\n${errors}`);
  const at = line.indexOf(marker);
  assert.ok(at >= 0, `no "${marker}" in: ${line}`);
  const names = [...line.slice(at + marker.length).matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  return names.filter((n) => n !== 'x-unknown');
}

const sorted = (a) => [...a].sort();

test('the settings form offers what the daemon knows, and nothing else', { skip: !process.env.BALKONSOLARD }, () => {
  const errors = daemonErrors();

  assert.deepEqual(sorted(schema.DEVICE_TYPES), sorted(listed(errors, 'devices[0].type', '(known:')));
  assert.deepEqual(sorted(Object.keys(schema.DEVICE_FIELDS)), sorted(schema.DEVICE_TYPES),
    'every device type has its fields, and only those');

  assert.deepEqual(sorted(schema.PROVIDER_TYPES), sorted(listed(errors, 'providers[0].type', '(known:')));
  assert.deepEqual(sorted(Object.keys(schema.PROVIDER_FIELDS)), sorted(schema.PROVIDER_TYPES),
    'every provider type has its fields, and only those');

  assert.deepEqual(sorted(schema.MODES), sorted(listed(errors, 'optimizer.schedule[0].mode', 'must be one of')));

  const sections = Object.fromEntries(schema.SECTIONS.map((s) => [s.id, s]));
  const field = (section, key) => sections[section].fields.find(([k]) => k === key);
  assert.deepEqual(sorted(field('battery', 'coupling')[2].options),
    sorted(listed(errors, 'battery.coupling', 'must be one of')));

  // Strategies: the form takes them from GET /api/v1/strategy, which lists the daemon's
  // strategy table, so there is no copy to drift. The daemon must still know some.
  assert.equal(field('optimizer', 'strategy')[2].options, 'strategies');
  assert.ok(listed(errors, 'optimizer.strategy', '(known:').length > 0);

  // Notification channels: every type the daemon knows, each with its fields.
  assert.deepEqual(sorted(schema.CHANNEL_TYPES), sorted(listed(errors, 'notifications.channels[0].type', 'must be one of')));
  assert.deepEqual(sorted(Object.keys(schema.CHANNEL_FIELDS)), sorted(schema.CHANNEL_TYPES),
    'every channel type has its fields, and only those');
  const channels = sections.notifications.lists.find((l) => l.key === 'channels');
  assert.deepEqual(channels.types, schema.CHANNEL_TYPES);
});
