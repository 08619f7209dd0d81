// The first hour of a new user, in Debian's Chromium at phone width: the daemon starts with
// no password and no devices; the page asks for the setup code and a password, then leads to
// the setup: site, solar modules, tariff, and a device chosen by brand and model from the
// daemon's catalogue, its host first typed wrong ("127.0.0.1:9": a field error), then Test
// against a fake Shelly Pro 3EM on loopback (the live reading and model show before saving);
// saved, the Devices view shows it reading. Then in Settings: an ntfy channel whose Test
// reaches a fake ntfy server, and a load. Screenshots of every step go to the artifacts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { PHONE, Session, byTestId, openView, screenshot, waitFor, waitForTestId } from './harness.mjs';

const PASSWORD = 'first-hour-2026';

// A Shelly Pro 3EM (fw 1.4.4) as tests/integration/test_devices_shelly.c fakes it: its
// /shelly and EM.GetStatus answers, exporting 312.5 W.
const PRO3EM_SHELLY = {
  name: null, id: 'shellypro3em-ec62609773d8', mac: 'EC62609773D8', slot: 1, model: 'SPEM-003CEBEU', gen: 2,
  fw_id: '20241011-114455/1.4.4-g6d2a586', ver: '1.4.4', app: 'Pro3EM', auth_en: false, auth_domain: null, profile: 'triphase',
};
const PRO3EM_STATUS = {
  id: 0, a_current: 1.851, a_voltage: 231.2, a_act_power: -420.1, a_aprt_power: 428.0, a_pf: -0.98, a_freq: 50.0,
  b_current: 0.412, b_voltage: 232.4, b_act_power: 52.3, b_aprt_power: 95.7, b_pf: 0.55, b_freq: 50.0,
  c_current: 0.371, c_voltage: 230.8, c_act_power: 55.3, c_aprt_power: 85.6, c_pf: 0.65, c_freq: 50.0,
  n_current: null, total_current: 2.634, total_act_power: -312.5, total_aprt_power: 609.3, user_calibrated_phase: [],
};

// A loopback HTTP server answering with handler(req, body); requests are recorded.
async function fakeServer(handler) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method, url: req.url, body, headers: req.headers });
    const [status, answer] = handler(req, body);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, requests, port: server.address().port, url: `http://127.0.0.1:${server.address().port}` };
}

describe('first hour', { timeout: 300000 }, () => {
  let session;
  let shelly;
  let ntfy;

  before(async () => {
    shelly = await fakeServer((req) => {
      if (req.url.startsWith('/shelly')) return [200, PRO3EM_SHELLY];
      if (req.url.startsWith('/rpc/EM.GetStatus')) return [200, PRO3EM_STATUS];
      return [404, { code: 404, message: `No handler for ${req.url}` }];
    });
    ntfy = await fakeServer(() => [200, { id: 'x1', event: 'message' }]);
    session = await Session.start({
      name: 'onboarding', withPassword: false,
      overrides: { devices: [], loads: [], appliances: [], http: { read_without_login: false } },
    });
  });

  after(async () => {
    const exit = await session?.close();
    shelly?.server.close();
    ntfy?.server.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('password, site, a tested device, saved, shown', { timeout: 150000 }, async () => {
    const page = await session.newPage(PHONE, { initScript: () => localStorage.setItem('balkon.lang', 'en') });
    await page.goto('/');
    await waitForTestId(page, 'login-setup_code');
    const code = fs.readFileSync(path.join(session.daemon.dir, 'setup-code'), 'utf8').trim();
    await byTestId(page, 'login-setup_code').fill(code);
    await byTestId(page, 'login-password').fill(PASSWORD);
    await byTestId(page, 'login-repeat').fill(PASSWORD);
    await byTestId(page, 'login-submit').click();
    session.daemon.password = PASSWORD;

    // No devices: the page leads to the setup.
    await waitForTestId(page, 'view-setup');
    await waitForTestId(page, 'onb-step-site');
    await screenshot(page, 'onboarding-1-site');
    await byTestId(page, 'field-site.name').fill('Balcony in Munich');
    await byTestId(page, 'field-site.latitude').fill('48.137');
    await byTestId(page, 'field-site.longitude').fill('11.575');
    await byTestId(page, 'onb-next').click();

    await waitForTestId(page, 'onb-step-pv');
    await byTestId(page, 'field-pv.planes[0].peak_w').fill('800');
    await screenshot(page, 'onboarding-2-pv');
    await byTestId(page, 'onb-next').click();

    await waitForTestId(page, 'onb-step-tariff');
    await byTestId(page, 'onb-country').selectOption('DE');
    await byTestId(page, 'onb-prices').selectOption('fixed|');
    await byTestId(page, 'field-providers[0].price_per_kwh').fill('0.32');
    await screenshot(page, 'onboarding-3-tariff');
    await byTestId(page, 'onb-next').click();

    await waitForTestId(page, 'onb-step-devices');
    await waitForTestId(page, 'onb-no-battery');
    await byTestId(page, 'add-devices').click();
    await byTestId(page, 'brand-devices[0]').selectOption('Shelly');
    // The models are the catalogue's; a Pro 3EM can only be a meter.
    const models = await byTestId(page, 'model-devices[0]').locator('option').allTextContents();
    assert.ok(models.includes('Pro 3EM') && models.includes('Plus Plug S'), `models offered: ${models}`);
    await byTestId(page, 'model-devices[0]').selectOption({ label: 'Pro 3EM' });
    const roles = await byTestId(page, 'field-devices[0].role').locator('option').allTextContents();
    assert.deepEqual(roles.map((r) => r.toLowerCase()), ['meter'], `roles offered for a Pro 3EM: ${roles}`);
    await byTestId(page, 'field-devices[0].id').fill('grid');

    // A host with a port: said at the field, and Test is not offered.
    await byTestId(page, 'field-devices[0].host').fill('127.0.0.1:9');
    const hostError = await waitForTestId(page, 'hostcheck-devices[0]');
    assert.match(await hostError.textContent(), /without a port; put 9 into the port field/);
    assert.ok(await byTestId(page, 'test-devices[0]').isDisabled(), 'Test is offered for a host with a port');
    await screenshot(page, 'onboarding-4-host-error');

    await byTestId(page, 'field-devices[0].host').fill('127.0.0.1');
    await byTestId(page, 'field-devices[0].port').fill(String(shelly.port));
    await byTestId(page, 'test-devices[0]').click();
    await page.locator('[data-testid="test-result-devices[0]"], [data-testid="test-error-devices[0]"]').first()
      .waitFor({ timeout: 20000 });
    const failed = byTestId(page, 'test-error-devices[0]');
    assert.equal(await failed.count(), 0, `the test failed: ${await failed.count() && await failed.textContent()}`);
    const result = byTestId(page, 'test-result-devices[0]');
    const shown = await result.textContent();
    assert.match(shown, /Pro3EM \(SPEM-003CEBEU, gen 2\)/);
    assert.match(shown, /firmware 1\.4\.4/);
    assert.match(shown, /Power: -312\.5 W/);
    await screenshot(page, 'onboarding-5-device-tested');
    // Not saved yet: the daemon has no device.
    assert.equal((await session.api('/api/v1/devices', { token: null, allowError: true })).status, 401);

    await byTestId(page, 'onb-save').click();
    await waitForTestId(page, 'view-devices');
    await waitFor('the tested meter to show in Devices', async () =>
      /grid/.test(await byTestId(page, 'view-devices').textContent()) &&
      /SPEM-003CEBEU/.test(await byTestId(page, 'view-devices').textContent()), { timeoutMs: 20000 });
    await screenshot(page, 'onboarding-6-devices');

    // The file: what was set, no defaults, the device as entered.
    const text = fs.readFileSync(session.daemon.configPath, 'utf8');
    assert.match(text, /"name": "Balcony in Munich"/);
    assert.match(text, /"host": "127.0.0.1"/);
    assert.doesNotMatch(text, /poll_interval_s/, 'the device was written with its defaults');
    assert.ok(fs.existsSync(`${session.daemon.configPath}.bak`), 'no .bak of the file before');
    assert.deepEqual(page.errors, []);
  });

  it('an ntfy channel tested at a fake server, and a load', { timeout: 120000 }, async () => {
    const page = await session.newPage(PHONE, { initScript: () => localStorage.setItem('balkon.lang', 'en') });
    await page.goto('/');
    await session.login(page);
    await openView(page, 'settings');
    await byTestId(page, 'add-notifications.channels').click();
    await byTestId(page, 'field-notifications.enabled').check();
    await byTestId(page, 'field-notifications.channels[0].url').fill(ntfy.url);
    await byTestId(page, 'field-notifications.channels[0].topic').fill('balcony-alerts');
    // Changed but not saved: Test waits for Save.
    assert.ok(await byTestId(page, 'test-notifications.channels[0]').isDisabled());

    await byTestId(page, 'add-loads').click();
    await byTestId(page, 'field-loads[0].name').fill('Water heater');
    await byTestId(page, 'field-loads[0].plug').fill('heater-plug');
    await byTestId(page, 'field-loads[0].power_w').fill('0');
    await screenshot(page, 'settings-notifications-loads');
    // 0 W is refused by the daemon, beside the field.
    await byTestId(page, 'settings-save').click();
    const powerError = await waitForTestId(page, 'error-loads[0].power_w');
    assert.match(await powerError.textContent(), /must be/);
    await byTestId(page, 'field-loads[0].power_w').fill('300');
    await byTestId(page, 'settings-save').click();
    await waitForTestId(page, 'settings-saved');

    await byTestId(page, 'test-notifications.channels[0]').click();
    await waitForTestId(page, 'test-result-notifications.channels[0]', { timeout: 20000 });
    await waitFor('the fake ntfy server to get the test', () =>
      ntfy.requests.find((r) => r.method === 'POST' && r.url === '/balcony-alerts'), { timeoutMs: 10000 });
    await screenshot(page, 'settings-channel-tested');
    // MQTT/Home Assistant and security are in the form too, and the page speaks German.
    await waitForTestId(page, 'field-mqtt.ha_discovery');
    await waitForTestId(page, 'field-http.read_without_login');
    await waitForTestId(page, 'field-notifications.rules.device_offline');
    await byTestId(page, 'lang-toggle').click();
    await page.getByRole('heading', { name: 'Benachrichtigungen' }).waitFor();
    await page.getByRole('heading', { name: 'Sicherheit' }).waitFor();
    assert.equal(await byTestId(page, 'test-notifications.channels[0]').textContent(), 'Test senden');
    await screenshot(page, 'settings-de');
    const text = fs.readFileSync(session.daemon.configPath, 'utf8');
    assert.match(text, /"type": "ntfy"/);
    assert.match(text, /"name": "Water heater"/);
    assert.match(text, /"power_w": 300/);
    assert.deepEqual(page.errors, []);
  });
});
