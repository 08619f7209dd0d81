// The views a person checks after the first hour, on the real daemon:
//  - notifications: a critical "meter data stale" (the site's meter, a local fake Shelly Pro
//    3EM, stops answering: the control falls into failsafe) is shown as critical, not as
//    information, first open and then resolved once the meter answers again;
//  - savings: per month as labelled bar groups, the payback note consistent with its figures;
//  - a device's detail page with its readings and its command log;
//  - the plan's decisions with price badges placed in the day's spread, and the grid signal
//    card; screenshots of each, desktop and phone.

import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  DESKTOP, PHONE, Session, byTestId, openView, screenshot, waitFor, waitForTestId,
} from './harness.mjs';

const TEST_TIMEOUT_MS = 120000;
const langScript = (lang) => `try { localStorage.setItem('balkon.lang', '${lang}'); } catch {}`;

// A Shelly Pro 3EM on loopback (src/devices/shelly_gen2.c documents the wire format): 150 W
// import. While `failing`, it drops every connection, as a meter that lost its network.
async function startFakeShelly() {
  const fake = { failing: false, requests: 0 };
  fake.server = http.createServer((req, res) => {
    fake.requests++;
    if (fake.failing) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url, 'http://x');
    let body;
    if (url.pathname === '/shelly') {
      body = { id: 'shellypro3em-ec62609773d8', model: 'SPEM-003CEBEU', gen: 2, ver: '1.4.4',
        app: 'Pro3EM', profile: 'triphase', auth_en: false };
    } else if (url.pathname === '/rpc/EM.GetStatus') {
      body = { id: 0, a_current: 0.3, a_voltage: 231.5, a_act_power: 50, b_current: 0.3, b_voltage: 230.1,
        b_act_power: 50, c_current: 0.3, c_voltage: 229.8, c_act_power: 50, total_current: 0.9,
        total_act_power: 150, total_aprt_power: 160 };
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: -114, message: `Method ${url.pathname} failed: not found` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  fake.server.listen(0, '127.0.0.1');
  await once(fake.server, 'listening');
  fake.port = fake.server.address().port;
  return fake;
}

// The GB carbon-intensity API on loopback (src/providers/uk_carbon.c documents the wire
// format): 48 h of half-hours from the asked time, 100 g/kWh at night up to 300 by day.
async function startFakeCarbon() {
  const fake = { requests: 0 };
  fake.intensity = (ms) => 100 + 10 * Math.round(20 * Math.max(0, Math.sin(((ms / 3600000) % 24 - 6) / 12 * Math.PI)));
  fake.server = http.createServer((req, res) => {
    fake.requests++;
    const m = /^\/intensity\/(\d{4}-\d\d-\d\dT\d\d:\d\dZ)\/fw48h/.exec(req.url);
    if (!m) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: '400 Bad Request', message: 'unknown path' } }));
      return;
    }
    const from = Date.parse(m[1].replace('Z', ':00Z'));
    const iso = (ms) => new Date(ms).toISOString().slice(0, 16) + 'Z';
    const data = [];
    for (let i = 0; i < 96; i++) {
      const t = from + i * 1800000;
      data.push({ from: iso(t), to: iso(t + 1800000), intensity: { forecast: fake.intensity(t), actual: null, index: 'moderate' } });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data }));
  });
  fake.server.listen(0, '127.0.0.1');
  await once(fake.server, 'listening');
  fake.port = fake.server.address().port;
  return fake;
}

async function notifications(session) {
  return (await session.api('/api/v1/notifications')).notifications;
}

describe('notifications show severity and resolution', { timeout: 300000 }, () => {
  let session;
  let fake;
  before(async () => {
    fake = await startFakeShelly();
    session = await Session.start({
      name: 'views-notifications',
      overrides: {
        // Real time: the failsafe's 5 s are wall seconds. The simulator's own meter is off;
        // the fake Shelly is the site's meter. The battery starts at its minimum, so an
        // information ("battery empty") stands beside the critical one.
        simulation: { speed: 1, meter_enabled: false, start: '2026-06-21T12:00:00+02:00', initial_soc_pct: 10 },
        control: { meter_stale_s: 5 },
        notifications: { enabled: true },
        devices: [
          { id: 'demo', type: 'simulator', name: 'Simulated site' },
          { id: 'meter', type: 'shelly_gen2', name: 'Shelly Pro 3EM', host: '127.0.0.1', port: fake.port,
            role: 'meter', poll_interval_s: 1 },
        ],
      },
    });
  });
  afterEach(async () => {
    await session?.closePages();
  });
  after(async () => {
    await session?.close();
    fake?.server.closeAllConnections?.();
    fake?.server.close();
  });

  it('a stale meter is critical, then resolved; information looks different', { timeout: TEST_TIMEOUT_MS }, async () => {
    await waitFor('the control to run on the fake meter', async () => {
      const c = await session.api('/api/v1/control').catch(() => null);
      return c && Math.abs(c.grid_w - 150) < 1;
    }, { timeoutMs: 30000 });
    fake.failing = true;
    await waitFor('a critical meter_stale notification', async () =>
      (await notifications(session)).find((n) => n.rule === 'meter_stale' && n.severity === 'critical' && n.state === 'open'),
    { timeoutMs: 30000 });

    const page = await session.newPage(DESKTOP, { initScript: langScript('en') });
    await page.goto('/');
    // Live says why the battery does what it does now: the failsafe, since the last reading.
    const why = await waitForTestId(page, 'why-sentence');
    await waitFor('why-sentence to give the failsafe',
      async () => (await why.getAttribute('data-reason')) === 'failsafe', { timeoutMs: 20000 });
    assert.match(await why.textContent(), /^Failsafe since \d\d:\d\d: no meter reading/);
    assert.equal(await byTestId(page, 'control-reason').first().getAttribute('data-reason'), 'failsafe');
    await screenshot(page, 'explain-failsafe-en');
    await openView(page, 'notifications');
    const critical = page.locator('[data-rule="meter_stale"]').first();
    await critical.waitFor({ state: 'visible' });
    assert.equal(await critical.getAttribute('data-severity'), 'critical');
    assert.equal(await critical.getAttribute('data-state'), 'open');
    assert.match(await byTestId(critical, 'notification-severity').textContent(), /Critical/);
    const info = page.locator('[data-severity="info"]').first();
    await info.waitFor({ state: 'visible' });
    assert.match(await byTestId(info, 'notification-severity').textContent(), /Information/);
    const look = (el) => el.evaluate((e) => {
      const badge = e.querySelector('[data-testid="notification-severity"]');
      return { border: getComputedStyle(e).borderLeftColor, badge: getComputedStyle(badge).backgroundColor };
    });
    const [lc, li] = [await look(critical), await look(info)];
    assert.notDeepEqual(lc, li, 'a critical notification looks like an information');
    await screenshot(page, 'notifications-critical-open');

    fake.failing = false;
    await waitFor('meter_stale to be resolved', async () =>
      (await notifications(session)).find((n) => n.rule === 'meter_stale' && n.state === 'resolved' && n.resolved),
    { timeoutMs: 30000 });
    const de = await session.newPage(DESKTOP, { initScript: langScript('de') });
    await de.goto('/#/notifications');
    const resolved = de.locator('[data-rule="meter_stale"][data-state="resolved"]').first();
    await resolved.waitFor({ state: 'visible' });
    assert.match(await byTestId(resolved, 'notification-state').textContent(), /behoben/);
    assert.match(await byTestId(resolved, 'notification-resolved').textContent(), /behoben/);
    assert.match(await byTestId(resolved, 'notification-severity').textContent(), /Kritisch/);
    assert.equal((await byTestId(resolved, 'notification-title').textContent()).trim(), 'Zählerdaten veraltet');
    // "Open" hides what is resolved.
    await byTestId(de, 'notes-filter-open').click();
    await resolved.waitFor({ state: 'detached' });
    await byTestId(de, 'notes-filter-all').click();
    await screenshot(de, 'notifications-resolved-de');
    assert.deepEqual([...page.errors, ...de.errors], [], 'uncaught exceptions in the page');
  });
});

describe('savings, device detail and plan', { timeout: 300000 }, () => {
  let session;
  let carbon;
  before(async () => {
    carbon = await startFakeCarbon();
    session = await Session.start({
      name: 'views',
      overrides: {
        simulation: { start: '2026-06-21T10:00:00+02:00', initial_soc_pct: 20, cloudiness_pct: 0 },
        // The demo's providers, and a grid signal (CO2 intensity) from the fake.
        providers: [
          { id: 'tariff', type: 'tou', zones: [
            { days: 'daily', from: '06:00', to: '22:00', price_per_kwh: 0.38 },
            { days: 'daily', from: '22:00', to: '06:00', price_per_kwh: 0.27 }] },
          { id: 'forecast', type: 'sim_solar' },
          { id: 'co2', type: 'uk_carbon', base_url: `http://127.0.0.1:${carbon.port}` },
        ],
      },
    });
  });
  afterEach(async () => {
    await session?.closePages();
  });
  after(async () => {
    await session?.close();
    carbon?.server.close();
  });

  it('savings per month are bar groups labelled by month; the payback note fits its figures', { timeout: TEST_TIMEOUT_MS }, async () => {
    await waitFor('a saving to be measured', async () => {
      const s = await session.api('/api/v1/savings?group=month').catch(() => null);
      return s?.periods?.length > 0;
    }, { timeoutMs: 60000 });
    const page = await session.newPage(DESKTOP, { initScript: langScript('en') });
    await page.goto('/');
    await openView(page, 'savings');
    await byTestId(page, 'savings-span-all').click();
    const bars = await waitForTestId(page, 'savings-bars');
    assert.equal(await bars.getAttribute('data-group'), 'month');
    const group = byTestId(page, 'savings-period').first();
    assert.equal(await group.getAttribute('data-period'), '2026-06');
    assert.equal((await byTestId(group, 'period-label').textContent()).trim(), 'Jun');
    // Three bars per month, "gained by planning" among them (no lone dot on a time axis).
    for (const kind of ['pv', 'battery', 'planning']) {
      assert.equal(await byTestId(group, `bar-${kind}`).count(), 1, `no ${kind} bar`);
    }
    const note = (await byTestId(page, 'payback-note').textContent()).trim();
    const payback = (await session.api('/api/v1/savings?group=month')).payback;
    if (payback.annual_saving == null) {
      assert.ok(!/extrapolated from/i.test(await byTestId(page, 'savings-payback').textContent()),
        'says "extrapolated" without an extrapolation');
      assert.match(note, /at least one day|cost/);
    } else {
      assert.match(note, /365 days|full year/);
    }
    await screenshot(page, 'savings-months');
    assert.deepEqual(page.errors, [], 'uncaught exceptions in the page');
  });

  it('a device detail page shows the battery and its command log', { timeout: TEST_TIMEOUT_MS }, async () => {
    await waitFor('the control to command the battery', async () => {
      const c = await session.api('/api/v1/commands?device=demo-battery&limit=5').catch(() => null);
      return c?.commands?.some((x) => x.source === 'control');
    }, { timeoutMs: 30000 });
    const page = await session.newPage(DESKTOP, { initScript: langScript('de') });
    await page.goto('/');
    await openView(page, 'devices');
    await byTestId(page, 'device-demo-battery').locator('[data-testid="device-link"]').click();
    const detail = await waitForTestId(page, 'device-detail');
    assert.equal(await detail.getAttribute('data-device'), 'demo-battery');
    assert.ok(page.url().endsWith('#/devices/demo-battery'), page.url());
    await waitForTestId(page, 'device-detail-battery');
    assert.match(await byTestId(page, 'value-soc_pct').first().textContent(), /%/);
    const row = await waitForTestId(page, 'device-command');
    assert.equal(await row.getAttribute('data-command'), 'setpoint');
    assert.match(await row.textContent(), /control/);
    await screenshot(page, 'device-detail-battery');
    // The section navigation (components/section-nav.js) takes the reader to the command log.
    const before = await byTestId(page, 'device-commands').boundingBox();
    await byTestId(page, 'section-nav-dev-commands').click();
    await waitFor('the command log to scroll into view', async () => {
      const box = await byTestId(page, 'device-commands').boundingBox();
      return box && box.y >= 0 && box.y < DESKTOP.viewport.height - 100 && box.y < before.y;
    });
    assert.equal(await byTestId(page, 'section-nav-dev-commands').getAttribute('aria-current'), 'true');
    // The inverter's page: its power and, where the device gives them, yield and temperature.
    await page.goto('/#/devices/demo-inverter');
    await waitForTestId(page, 'device-detail-inverter');
    await screenshot(page, 'device-detail-inverter');
    await byTestId(page, 'device-back').click();
    await waitForTestId(page, 'device-demo-battery');
    assert.deepEqual(page.errors, [], 'uncaught exceptions in the page');
  });

  it('the plan lists its decisions with reasons and badges prices against the day', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage(DESKTOP, { initScript: langScript('en') });
    await page.goto('/');
    await openView(page, 'plan');
    const first = await waitForTestId(page, 'plan-decision');
    assert.ok(await first.getAttribute('data-reason'), 'a decision without its reason');
    // The demo's tariff: 38 ct by day, 27 ct by night: the day price is the day's highest.
    const levels = await byTestId(page, 'decision-price').evaluateAll((els) =>
      els.map((e) => [e.textContent, e.getAttribute('data-level')]));
    for (const [text, level] of levels) {
      if (/38[.,]0/.test(text)) assert.equal(level, 'expensive', `${text} badged ${level}`);
      if (/27[.,]0/.test(text)) assert.equal(level, 'cheap', `${text} badged ${level}`);
    }
    // One vocabulary: a slot that stores surplus reads "charging", whatever the optimizer's
    // mode name ("discharge" also stores what the forecast missed).
    const decisions = await byTestId(page, 'plan-decision').evaluateAll((els) =>
      els.map((e) => [e.getAttribute('data-reason'), e.getAttribute('data-state'), e.textContent]));
    for (const [reason, state, text] of decisions) {
      if (reason === 'storing_surplus') {
        assert.equal(state, 'charging', text);
        assert.ok(text.includes('charging from solar'), text);
      }
      if (reason === 'covering_load') assert.ok(text.includes('discharging'), text);
    }
    // The grid signal: the CO2 intensity the provider gave, now and as a chart.
    const signal = await waitForTestId(page, 'signal-co2_g_per_kwh');
    const chart = await waitForTestId(page, 'signal-chart-co2_g_per_kwh');
    await chart.scrollIntoViewIfNeeded(); // charts draw once they come into view
    await chart.locator('canvas').first().waitFor({ state: 'visible' });
    const api = await session.api('/api/v1/signal?kind=co2_g_per_kwh');
    assert.ok(api.series[0].value.length > 0, 'no signal stored');
    assert.match(await byTestId(signal, 'signal-now').textContent(), /^\d+ g\/kWh · (clean|average|dirty)$/);
    await screenshot(page, 'plan-decisions');
    assert.deepEqual(page.errors, [], 'uncaught exceptions in the page');
  });

  it('at phone width the new pages fit', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage(PHONE, { initScript: langScript('de') });
    for (const [hash, testid, name] of [['#/notifications', 'view-notifications', 'notifications'],
      ['#/savings', 'savings-vs-no-battery', 'savings'], ['#/devices/demo-battery', 'device-detail', 'device-detail'],
      ['#/plan', 'plan-decisions', 'plan'], ['#/live', 'control-card', 'live']]) {
      await page.goto(`/${hash}`);
      await waitForTestId(page, testid);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.viewport.width, `${hash} is ${width} px wide on a phone`);
      await screenshot(page, `phone-views-${name}`);
    }
    assert.deepEqual(page.errors, [], 'uncaught exceptions in the page');
  });
});
