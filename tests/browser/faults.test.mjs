// A device and a price service that cannot be reached, read on the German page: the fault is
// said in German from its code (timeout, unreachable, …), the daemon's English detail follows
// as the technical part. The device Test in Settings says its failure the same way.

import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { DESKTOP, Session, byTestId, openView, screenshot, waitFor, waitForTestId } from './harness.mjs';

const GERMAN = () => {
  localStorage.setItem('balkon.lang', 'de');
  localStorage.setItem('balkon.setupDone', '1');
};

// A loopback port nobody listens on (taken from the kernel, then released).
async function closedPort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

describe('faults in the page\'s language', { timeout: 180000 }, () => {
  let session;
  let port;

  before(async () => {
    port = await closedPort();
    session = await Session.start({
      name: 'faults',
      overrides: {
        devices: [
          { id: 'demo', type: 'simulator', name: 'Simulated site' },
          { id: 'grid', type: 'shelly_gen2', host: '127.0.0.1', port, role: 'meter', poll_interval_s: 1, timeout_s: 1 },
        ],
        providers: [
          { id: 'tariff', type: 'fixed', price_per_kwh: 0.3 },
          { id: 'market', type: 'energy_charts', base_url: `http://127.0.0.1:${port}` },
          { id: 'forecast', type: 'sim_solar' },
        ],
      },
    });
  });

  after(async () => {
    const exit = await session?.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('Devices says why in German, with the detail beside it', async () => {
    await waitFor('the unreachable meter and price service in the API', async () => {
      const { devices } = await session.api('/api/v1/devices');
      const { providers } = await session.api('/api/v1/providers');
      return devices.find((d) => d.id === 'grid')?.error_code === 'unreachable' &&
        providers.find((p) => p.id === 'market')?.last_error_code === 'unreachable';
    }, { timeoutMs: 30000 });

    const page = await session.newPage(DESKTOP, { initScript: GERMAN });
    await page.goto('/');
    const view = await openView(page, 'devices');
    const device = view.locator('[data-testid="device-error"][data-code="unreachable"]');
    await device.waitFor();
    assert.match(await device.textContent(), /^Keine Verbindung: Die Adresse ist falsch/);
    assert.match(await device.locator('code').textContent(), /127\.0\.0\.1 port \d+/);
    // Configured as a meter, never seen: a meter, not "meter, smart plug" with a switch.
    const card = byTestId(page, 'device-grid');
    assert.doesNotMatch(await card.textContent(), /Steckdose/);
    assert.equal(await card.locator('input[type="checkbox"], [role="switch"]').count(), 0);
    const provider = byTestId(page, 'provider-error-market');
    await provider.waitFor();
    assert.equal(await provider.getAttribute('data-code'), 'unreachable');
    assert.match(await provider.textContent(), /^Keine Verbindung/);
    await screenshot(page, 'faults-devices-de');
    assert.deepEqual(page.errors, []);
  });

  it('a failed Test in Settings is said in German', async () => {
    const page = await session.newPage(DESKTOP, { initScript: GERMAN });
    await page.goto('/');
    await session.login(page);
    await openView(page, 'settings');
    const test = byTestId(page, 'test-devices[1]');
    await test.click();
    const failed = await waitForTestId(page, 'test-error-devices[1]', { timeout: 20000 });
    assert.equal(await failed.getAttribute('data-code'), 'unreachable');
    assert.match(await failed.textContent(), /^Test fehlgeschlagen: Keine Verbindung/);
    await screenshot(page, 'faults-test-de');
    assert.deepEqual(page.errors, []);
  });
});
