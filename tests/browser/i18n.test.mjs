// The German page carries no English, server errors included: the real daemon with the demo
// site (reading closed, so the login shows), Chromium set to German. A wrong password, a
// config value out of range and every view are read as a German user sees them; the server's
// English texts ("wrong password", "config has 1 error", "must be > 0 …") must not appear,
// and the errors must say what the code and parameters say, in German.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SOURCE_DIR, Session, VIEWS, byTestId, openView, screenshot, waitFor, waitForTestId } from './harness.mjs';

// The English sentences of the loads module, as the page's table matches them.
const { LOAD_REASONS } = await import(pathToFileURL(path.join(SOURCE_DIR, 'web/src/i18n-reasons.js')).href);

const TEST_TIMEOUT_MS = 90000;
const GERMAN = { initScript: () => localStorage.setItem('balkon.lang', 'de') };
// Texts of the server's English error messages that once showed on German pages.
const ENGLISH = [/wrong password/i, /config has \d+ error/i, /must be (between|>|<|at least|one of)/i,
  /log in first/i, /not valid/i, /is required/i,
  // Texts of the server's answers the page translates by what they describe.
  /Simulated (micro-inverter|battery|smart plug|smart meter)/, /BalkonSolar test message/, /This is a test of the notification/, /^Start the /m, /cheaper time before/,
  /charge from PV surplus/i, /minimum cost over the horizon/i, /battery modes by time of day/i];

function assertNoEnglish(text, where) {
  for (const re of ENGLISH) assert.doesNotMatch(text, re, `${where}: English server text on the German page`);
}

describe('German everywhere', { timeout: 280000 }, () => {
  let session;

  before(async () => {
    // A channel nobody listens on: the test message is stored (and shown) all the same.
    session = await Session.start({ name: 'i18n', overrides: {
      http: { read_without_login: false },
      notifications: { enabled: true, channels: [{ id: 'phone', type: 'ntfy', url: 'http://127.0.0.1:9', topic: 'balkon' }] },
    } });
  });

  afterEach(async () => {
    await session?.closePages();
  });

  after(async () => {
    const exit = await session?.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('a wrong password is refused in German', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage(undefined, GERMAN);
    await page.goto('/');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
    await waitForTestId(page, 'login');
    await byTestId(page, 'login-password').fill('not-the-password');
    const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/auth/login');
    await byTestId(page, 'login-submit').click();
    const reply = await refused;
    assert.equal(reply.status(), 401);
    const body = await reply.json();
    assert.equal(body.code, 'wrong_password', `the server sent no code: ${JSON.stringify(body)}`);
    const error = await waitForTestId(page, 'login-error-password', { timeout: 20000 });
    assert.equal((await error.textContent()).trim(), 'Falsches Passwort.');
    assertNoEnglish(await page.locator('body').innerText(), 'login');
    await screenshot(page, 'de-login-wrong-password');
  });

  it('a refused setting says why in German, next to its field, with the bounds', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage(undefined, GERMAN);
    await page.goto('/');
    await session.login(page);
    await openView(page, 'settings');
    const capacity = await waitForTestId(page, 'field-battery.capacity_wh');
    await waitFor('the settings to show the running config', async () => (await capacity.inputValue()) !== '');
    await capacity.fill('-5');
    const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/config' && r.request().method() === 'PUT');
    await byTestId(page, 'settings-save').first().click();
    const reply = await refused;
    assert.equal(reply.status(), 400);
    const body = await reply.json();
    assert.equal(body.code, 'config_invalid');
    const item = body.errors.find((e) => e.path === 'battery.capacity_wh');
    assert.equal(item.code, 'range_above', JSON.stringify(item));
    assert.deepEqual(item.params, { field: 'battery.capacity_wh', min: '0', max: '100000', got: '-5' });
    const error = await waitForTestId(page, 'error-battery.capacity_wh');
    assert.equal((await error.textContent()).trim(), 'Muss über 0 und höchstens 100000 sein (eingegeben: -5).');
    const summary = await waitForTestId(page, 'settings-error');
    assert.match(await summary.textContent(), /Die Einstellungen haben 1 Fehler/);
    assertNoEnglish(await page.locator('body').innerText(), 'settings');
    await screenshot(page, 'de-settings-error');
  });

  it('every view, logged in, shows no English server text', { timeout: TEST_TIMEOUT_MS }, async () => {
    const sent = await session.api('/api/v1/notifications/test?channel=phone', { method: 'POST' });
    assert.ok(sent, 'no test message');
    const page = await session.newPage(undefined, GERMAN);
    await page.goto('/');
    await session.login(page);
    for (const view of VIEWS) {
      const root = await openView(page, view);
      await page.waitForTimeout(300);
      assertNoEnglish(await root.innerText(), view);
      await screenshot(page, `de-${view}`);
    }
    // What the server sends in English shows in German: the simulator's device models and the
    // strategy's description.
    await openView(page, 'devices');
    await waitFor('the devices view to show the simulated battery in German',
      async () => (await byTestId(page, 'view-devices').innerText()).includes('Simulierte Batterie'));
    // Every reading has a label, not its API name (setpoint_w, failsafe_trips).
    const labels = await page.locator('[data-testid="view-devices"] dl.values dt').allTextContents();
    assert.ok(labels.length > 5, 'no readings shown');
    for (const label of labels) assert.doesNotMatch(label.trim(), /^[a-z0-9]+(_[a-z0-9]+)+$/, 'a reading shows its API name');
    // The water heater's reason, from the loads module's English sentences, in German.
    const reason = (await (await waitForTestId(page, 'load-reason-heater')).textContent()).trim();
    assert.ok(reason && reason !== '–', 'the heater shows no reason');
    assert.ok(!LOAD_REASONS.some(([re]) => re.test(reason)), `the heater's reason is English: "${reason}"`);
    const api = await session.api('/api/v1/loads');
    assert.ok(LOAD_REASONS.some(([re]) => re.test(api.loads[0].reason)), `the API's reason "${api.loads[0].reason}" is not in the table`);
    const notes = await openView(page, 'notifications');
    await waitFor('the test message in German', async () => (await notes.innerText()).includes('BalkonSolar-Testnachricht'));
    assert.match(await notes.innerText(), /Dies ist ein Test des Benachrichtigungskanals „phone“ \(ntfy\)\./);
    const settings = await openView(page, 'settings');
    await waitFor('the strategy description in German',
      async () => (await settings.innerText()).includes('Geringste Kosten über den Horizont'));
  });
});
