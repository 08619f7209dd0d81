// Finding a device instead of typing it in (issue 16), in Debian's Chromium: a new user at
// the first start goes through the setup, searches the network, detects the Shelly Pro 3EM
// it lists (a fake on loopback answering with the captured payloads of
// tests/fixtures/real: /shelly and EM.GetStatus), sees its model, firmware and live
// reading, takes it with "Use this", saves, and sees the same reading in Devices and Live.
// Then in German, in Settings: a bad address refused beside the field, nothing at a closed
// port, a web server that is no device, a second detection while one runs, each in one
// German sentence, and no English text in the finder.
//
// The mDNS answer is played by the page (page.route): a real query would leave loopback
// (224.0.0.251); the daemon's own browse is tested in a network namespace by
// tests/integration/test_detect_mdns.c. Every detection here is the daemon's own, against
// the fakes.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import {
  ARTIFACTS_DIR, DESKTOP, PHONE, SOURCE_DIR, Session, byTestId, openView, parseWatts, screenshot, sleep, stripJsonComments, waitFor,
  waitForTestId,
} from './harness.mjs';
import { dict } from '../../web/src/strings.js';

const PASSWORD = 'detect-hour-2026';
const real = (name) => fs.readFileSync(path.join(SOURCE_DIR, 'tests', 'fixtures', 'real', name));
// A Pro 3EM's GET /shelly (written from Shelly's documented format, see SOURCES) and its
// EM.GetStatus as a user logged it (a real capture): total_act_power is the grid reading.
const SHELLY_INFO = real('detect/shelly_gen2_pro3em_shelly.json');
const EM_STATUS = real('shelly_gen2/pro3em_em_getstatus_crestron36.json');
const GRID_W = JSON.parse(EM_STATUS).total_act_power;
const INFO = JSON.parse(SHELLY_INFO);

// A loopback HTTP server: routes maps a path (without the query) to [status, body bytes,
// delay ms]; anything else is a 404 like a web server that knows no such page.
async function fakeServer(routes) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    for await (const _ of req) { /* drain */ }
    requests.push(req.url);
    const route = routes[req.url.split('?')[0]];
    if (route?.[2]) await sleep(route[2]);
    res.writeHead(route ? route[0] : 404, { 'Content-Type': route ? 'application/json' : 'text/html' });
    res.end(route ? route[1] : '<html><body>Not Found</body></html>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, requests, port: server.address().port };
}

// The finder alone (the full-page shots of Settings are long), beside them.
const shootFinder = (page, name) => byTestId(page, 'finder').screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`) });

// A loopback port nobody listens on (bound and closed again).
async function closedPort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// The English dictionary's texts as fragments a page could show: the parts between
// {placeholders} with at least two words (one word may be the same in both languages).
function englishFragments(keys) {
  const out = [];
  for (const key of keys) {
    if (dict.de[key] === dict.en[key]) continue;
    for (const part of dict.en[key].split(/\{\w+\}/)) {
      const text = part.trim().replace(/^[\s.,:;()"…]+|[\s.,:;()"…]+$/g, '');
      if ((text.match(/[A-Za-z]{3,}/g) || []).length >= 2) out.push(text);
    }
  }
  return out;
}

describe('detect a device', { timeout: 300000 }, () => {
  let session;
  let shelly;
  let slow;
  let web;

  before(async () => {
    // /shelly waits a little, as a device on Wi-Fi does, so the progress line shows.
    shelly = await fakeServer({ '/shelly': [200, SHELLY_INFO, 700], '/rpc/EM.GetStatus': [200, EM_STATUS] });
    slow = await fakeServer({ '/shelly': [200, SHELLY_INFO, 2500], '/rpc/EM.GetStatus': [200, EM_STATUS] });
    web = await fakeServer({});
    session = await Session.start({
      name: 'detect', withPassword: false,
      overrides: { devices: [], loads: [], appliances: [], http: { read_without_login: false } },
    });
  });

  after(async () => {
    const exit = await session?.close();
    for (const fake of [shelly, slow, web]) fake?.server.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('first start: search, detect, use, save, the reading shows', { timeout: 150000 }, async () => {
    const page = await session.newPage(PHONE, { initScript: () => localStorage.setItem('balkon.lang', 'en') });
    // The LAN's mDNS answer, as the daemon lists a Pro 3EM (docs/api.md); its "detect" is
    // the fake's address.
    let browsed = 0;
    await page.route('**/api/v1/devices/browse', (route) => {
      browsed++;
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({
        services: ['_shelly._tcp.local', '_http._tcp.local', '_esphomelib._tcp.local'], answers: 1, malformed: 0,
        candidates: [{ name: INFO.id, service: '_shelly._tcp', host: `${INFO.id}.local`, address: '127.0.0.1',
          port: shelly.port, txt: { gen: '2', app: INFO.app, ver: INFO.ver }, likely_type: 'shelly_gen2',
          detect: `127.0.0.1:${shelly.port}` }],
      }) });
    });
    await page.goto('/');
    await waitForTestId(page, 'login-setup_code');
    const code = fs.readFileSync(path.join(session.daemon.dir, 'setup-code'), 'utf8').trim();
    await byTestId(page, 'login-setup_code').fill(code);
    await byTestId(page, 'login-password').fill(PASSWORD);
    await byTestId(page, 'login-repeat').fill(PASSWORD);
    await byTestId(page, 'login-submit').click();
    session.daemon.password = PASSWORD;

    await waitForTestId(page, 'onb-step-site');
    await byTestId(page, 'field-site.name').fill('Balcony in Leipzig');
    await byTestId(page, 'field-site.latitude').fill('51.34');
    await byTestId(page, 'field-site.longitude').fill('12.37');
    await byTestId(page, 'onb-next').click();
    await waitForTestId(page, 'onb-step-pv');
    await byTestId(page, 'field-pv.planes[0].peak_w').fill('800');
    await byTestId(page, 'onb-next').click();
    await waitForTestId(page, 'onb-step-tariff');
    await byTestId(page, 'onb-prices').selectOption('fixed|');
    await byTestId(page, 'field-providers[0].price_per_kwh').fill('0.32');
    await byTestId(page, 'onb-next').click();

    await waitForTestId(page, 'onb-step-devices');
    await waitForTestId(page, 'finder');
    await screenshot(page, 'detect-1-finder');
    // An address with a scheme is said at the field before anything is asked; one that is
    // no address is refused by the daemon, beside the field.
    await byTestId(page, 'detect-host').fill('http://127.0.0.1');
    await byTestId(page, 'detect-run').click();
    assert.match(await (await waitForTestId(page, 'detect-host-error')).textContent(), /without "http:\/\/"/);
    await byTestId(page, 'detect-host').fill('shelly pro');
    await byTestId(page, 'detect-run').click();
    assert.match(await (await waitForTestId(page, 'detect-host-error')).textContent(), /"shelly pro" is not a host name or address/);
    assert.equal(await byTestId(page, 'detect-host').getAttribute('aria-invalid'), 'true');

    await byTestId(page, 'browse-run').click();
    const list = await waitForTestId(page, 'browse-list');
    assert.equal(browsed, 1);
    assert.match(await list.textContent(), new RegExp(`${INFO.id}.*Shelly.*127\\.0\\.0\\.1:${shelly.port}`));
    await screenshot(page, 'detect-2-browsed');
    await byTestId(page, 'browse-detect-0').click();
    // The Shelly takes 0.7 s to answer: the progress line shows meanwhile.
    const busy = await waitForTestId(page, 'detect-busy');
    assert.match(await busy.textContent(), new RegExp(`Asking 127\\.0\\.0\\.1:${shelly.port} which device it is`));
    await screenshot(page, 'detect-3-busy');
    const result = await waitForTestId(page, 'detect-result', { timeout: 20000 });
    const shown = await result.textContent();
    assert.match(shown, /Found: Shelly Pro 3EM/);
    assert.match(shown, new RegExp(`Model ${INFO.model}, firmware ${INFO.ver.replace(/\./g, '\\.')}`));
    assert.match(await byTestId(page, 'detect-reading').textContent(), new RegExp(`Grid power: ${GRID_W.toFixed(1)} W`));
    assert.match(shown, new RegExp(`"shelly-gen2" \\(meter\\) at 127\\.0\\.0\\.1:${shelly.port}`));
    assert.ok(shelly.requests.includes('/rpc/EM.GetStatus?id=0'), `the fake was asked: ${shelly.requests}`);
    await screenshot(page, 'detect-4-found');

    // Use this: a new entry, filled, with the model's only role; nothing is saved yet.
    await byTestId(page, 'detect-use').click();
    await waitForTestId(page, 'detect-used');
    assert.equal(await byTestId(page, 'field-devices[0].id').inputValue(), 'shelly-gen2');
    assert.equal(await byTestId(page, 'brand-devices[0]').inputValue(), 'Shelly');
    assert.equal(await byTestId(page, 'model-devices[0]').locator('option:checked').textContent(), 'Pro 3EM');
    assert.equal(await byTestId(page, 'field-devices[0].role').inputValue(), 'meter');
    const roles = await byTestId(page, 'field-devices[0].role').locator('option').allTextContents();
    assert.equal(roles.length, 1, `roles offered for a Pro 3EM: ${roles}`);
    assert.equal(await byTestId(page, 'field-devices[0].host').inputValue(), '127.0.0.1');
    assert.equal(await byTestId(page, 'field-devices[0].port').inputValue(), String(shelly.port));
    assert.equal(await byTestId(page, 'field-devices[0].name').inputValue(), 'Shelly Pro 3EM');
    await screenshot(page, 'detect-5-used');
    assert.equal((await session.api('/api/v1/devices', { token: null, allowError: true })).status, 401);

    await byTestId(page, 'onb-save').click();
    await waitForTestId(page, 'view-devices');
    // Devices: the card of the detected meter with the reading the fake serves.
    const card = await waitForTestId(page, 'device-shelly-gen2', { timeout: 20000 });
    const want = `${Math.round(GRID_W)} W`;
    await waitFor(`the meter's card to show ${want}`, async () => (await card.textContent()).includes(want), { timeoutMs: 20000 });
    assert.match(await card.textContent(), new RegExp(INFO.model));
    await screenshot(page, 'detect-6-devices');
    // Live: the grid is the meter's reading.
    await openView(page, 'live');
    await waitFor(`Live's grid to show ${Math.round(GRID_W)} W`, async () =>
      parseWatts(await byTestId(page, 'flow-grid-w').textContent()) === Math.round(GRID_W), { timeoutMs: 20000 });
    await screenshot(page, 'detect-7-live');

    const config = JSON.parse(stripJsonComments(fs.readFileSync(session.daemon.configPath, 'utf8')));
    const device = config.devices.find((d) => d.id === 'shelly-gen2');
    assert.deepEqual({ type: device.type, host: device.host, port: device.port, role: device.role },
      { type: 'shelly_gen2', host: '127.0.0.1', port: shelly.port, role: 'meter' });
    assert.deepEqual(page.errors, []);
  });

  it('in German: a bad address, nothing found, no device, busy; no English', { timeout: 120000 }, async () => {
    const page = await session.newPage(DESKTOP, { initScript: () => localStorage.setItem('balkon.lang', 'de') });
    await page.goto('/');
    await session.login(page);
    await openView(page, 'settings');
    const finder = await waitForTestId(page, 'finder');
    await finder.scrollIntoViewIfNeeded();
    const texts = [];
    const keep = async () => texts.push(await finder.textContent());

    await byTestId(page, 'detect-host').fill('a b');
    await byTestId(page, 'detect-run').click();
    assert.match(await (await waitForTestId(page, 'detect-host-error')).textContent(), /„a b“ ist keine Adresse, die sich fragen lässt/);
    await keep();

    // A closed port: nothing answered; each probe says so (the phone too, at its width).
    const closed = await closedPort();
    await byTestId(page, 'detect-host').fill(`127.0.0.1:${closed}`);
    await byTestId(page, 'detect-run').click();
    let nothing = await waitForTestId(page, 'detect-nothing', { timeout: 20000 });
    assert.match(await nothing.textContent(), new RegExp(`Unter 127\\.0\\.0\\.1:${closed} hat nichts geantwortet\\. Prüfe, ob das Gerät eingeschaltet`));
    await nothing.locator('summary').click();
    const probes = await byTestId(page, 'detect-probes').locator('li').allTextContents();
    assert.equal(probes.length, 9, `probes: ${probes}`);
    assert.ok(probes.includes(`Shelly: auf Port ${closed} lauscht nichts`), `probes: ${probes}`);
    await keep();
    await screenshot(page, 'detect-de-nothing');
    await shootFinder(page, 'detect-de-nothing-finder');
    const phone = await session.newPage(PHONE, { initScript: () => localStorage.setItem('balkon.lang', 'de') });
    await phone.goto('/#/settings');
    await session.login(phone);
    await openView(phone, 'settings');
    await byTestId(phone, 'detect-host').fill(`127.0.0.1:${closed}`);
    await byTestId(phone, 'detect-run').click();
    await (await waitForTestId(phone, 'detect-nothing', { timeout: 20000 })).locator('summary').click();
    await byTestId(phone, 'finder').scrollIntoViewIfNeeded();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
    await screenshot(phone, 'phone-detect-de-nothing');
    await shootFinder(phone, 'phone-detect-de-nothing-finder');

    // A web server that is no device: something answers, not as a known device.
    await byTestId(page, 'detect-host').fill(`127.0.0.1:${web.port}`);
    await byTestId(page, 'detect-run').click();
    await waitFor('the answer for the web server', async () =>
      /Unter 127\.0\.0\.1:\d+ antwortet etwas, aber nicht wie ein Gerät, das BalkonSolar kennt/.test(
        await byTestId(page, 'detect-nothing').textContent()), { timeoutMs: 20000 });
    assert.ok(web.requests.includes('/shelly'));
    await byTestId(page, 'detect-nothing').locator('summary').click();
    assert.ok((await byTestId(page, 'detect-probes').locator('li').allTextContents())
      .includes(`Shelly: hat auf Port ${web.port} mit HTTP 404 geantwortet`));
    await keep();

    // While the phone's detection waits for a slow device, this window's is refused (409).
    await byTestId(phone, 'detect-host').fill(`127.0.0.1:${slow.port}`);
    await byTestId(phone, 'detect-run').click();
    await waitFor('the slow device to be asked', () => slow.requests.includes('/shelly'));
    await byTestId(page, 'detect-host').fill(`127.0.0.1:${shelly.port}`);
    await byTestId(page, 'detect-run').click();
    const busy = await waitForTestId(page, 'detect-error');
    assert.match(await busy.textContent(), /Gerade läuft schon eine Erkennung/);
    await keep();
    await screenshot(page, 'detect-de-busy');
    await shootFinder(page, 'detect-de-busy-finder');
    // The slow device answers after the probes' 1.5 s: a timeout, the port's other probes
    // skipped, said in German.
    await waitFor('the phone to say the slow device timed out', async () =>
      (await byTestId(phone, 'detect-probes').textContent()).includes(`Shelly: keine Antwort in der Zeit auf Port ${slow.port}`),
    { timeoutMs: 20000 });
    assert.match(await byTestId(phone, 'detect-probes').textContent(), new RegExp(`OpenDTU: übersprungen: Port ${slow.port} hat schon vorher nicht geantwortet`));
    assert.match(await byTestId(phone, 'detect-nothing').textContent(), /hat nichts geantwortet/);
    texts.push(await byTestId(phone, 'finder').textContent());
    // Once it ended, the same button finds the device, in German.
    await byTestId(page, 'detect-run').click();
    const found = await waitForTestId(page, 'detect-result', { timeout: 20000 });
    assert.match(await found.textContent(), /Gefunden: Shelly Pro 3EM/);
    assert.match(await byTestId(page, 'detect-reading').textContent(), new RegExp(`Netzleistung: ${GRID_W.toFixed(1).replace('.', ',')} W`));
    // Taken again, the new entry gets an id of its own.
    await byTestId(page, 'detect-use').click();
    await waitForTestId(page, 'detect-used');
    const ids = await page.locator('[data-testid^="field-devices["][data-testid$="].id"]').evaluateAll((els) => els.map((e) => e.value));
    assert.deepEqual(ids, ['shelly-gen2', 'shelly-gen2-2']);
    await keep();
    await screenshot(page, 'detect-de-found');
    await shootFinder(page, 'detect-de-found-finder');

    const english = englishFragments(Object.keys(dict.en));
    for (const text of texts) {
      for (const fragment of english) assert.ok(!text.includes(fragment), `English "${fragment}" in the German finder: ${text}`);
    }
    assert.deepEqual(page.errors, []);
    assert.deepEqual(phone.errors, []);
  });
});
