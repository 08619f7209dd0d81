// The setup's site step at phone width, as a new user finds the balcony: types "Berlin" into
// the place search (the daemon asks a fake geocoder on loopback that answers what the real
// Open-Meteo API answered, tests/fixtures/real/geocoding/), picks the first place (latitude,
// longitude and time zone filled, the map moved there), then clicks on the map (tiles from a
// fake tile server on loopback): the fields take the clicked point, checked against our own
// Web Mercator inverse of the click's position; a drag and a zoom, then a click again. The
// page's Content-Security-Policy lets the tiles in and reports no violation; the tiles are
// asked with the page's origin as Referer. The same in German; a failing geocoder is said
// so; and the picker in Settings → Site. Screenshots: site-picker-*.png.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { PHONE, SOURCE_DIR, Session, byTestId, openView, screenshot, waitFor, waitForTestId } from './harness.mjs';

const BERLIN = fs.readFileSync(path.join(SOURCE_DIR, 'tests', 'fixtures', 'real', 'geocoding',
  'open_meteo_berlin_en_2023-03-31.json'));
const FIRST = JSON.parse(BERLIN).results[0];

// Web Mercator as the tile servers define it (256 px tiles), written here on its own so the
// test does not borrow the map's arithmetic.
const world = (z) => 256 * 2 ** z;
function toPixels(lat, lon, z) {
  const r = (lat * Math.PI) / 180;
  return { x: ((lon + 180) / 360) * world(z), y: ((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2) * world(z) };
}
function toDegrees(x, y, z) {
  return { lat: (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / world(z)))) * 180) / Math.PI, lon: (x / world(z)) * 360 - 180 };
}

// A PNG of w x h pixels, RGB, each from color(x, y).
function png(w, h, color) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) color(x, y).forEach((v, i) => { rows[y * (w * 3 + 1) + 1 + x * 3 + i] = v; });
  }
  const head = Buffer.alloc(13);
  head.writeUInt32BE(w, 0);
  head.writeUInt32BE(h, 4);
  head[8] = 8; // bit depth
  head[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', head),
    chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
// Two tiles, a light and a darker one with a grid line, so a screenshot shows the tiling.
const TILES = [png(256, 256, (x, y) => (x === 0 || y === 0 ? [120, 130, 140] : [232, 236, 228])),
  png(256, 256, (x, y) => (x === 0 || y === 0 ? [120, 130, 140] : [214, 222, 208]))];

// A loopback HTTP server answering with handler(req) → [status, type, body]; requests are kept.
async function fakeServer(handler) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url, headers: req.headers });
    const [status, type, body] = handler(req);
    res.writeHead(status, { 'Content-Type': type });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, requests, url: `http://127.0.0.1:${server.address().port}` };
}

// Runs in the page before its own scripts: keeps every policy violation the browser reports.
const RECORD = () => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
};

// The map box's inner top-left corner and size (the tiles sit inside its border), scrolled
// into the phone's view first: the mouse and the finger reach only what is shown.
async function mapBox(page) {
  await byTestId(page, 'site-map').scrollIntoViewIfNeeded();
  return byTestId(page, 'site-map').evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { left: r.left + el.clientLeft, top: r.top + el.clientTop, w: el.clientWidth, h: el.clientHeight };
  });
}

async function fieldNumber(page, path) {
  return Number(await byTestId(page, `field-${path}`).inputValue());
}

// The fields must hold the place at world pixel (x, y) of zoom z, to the 4 decimals the map
// rounds to (and half a pixel: the click lands on whole CSS pixels).
async function expectPlace(page, x, y, z, what) {
  const want = toDegrees(x, y, z);
  const pixelDeg = 360 / world(z);
  await waitFor(`${what}: the fields to take the clicked place`, async () => {
    const lat = await fieldNumber(page, 'site.latitude');
    const lon = await fieldNumber(page, 'site.longitude');
    return Math.abs(lat - want.lat) <= 5e-5 + pixelDeg && Math.abs(lon - want.lon) <= 5e-5 + pixelDeg &&
      Math.round(lat * 1e4) / 1e4 === lat && Math.round(lon * 1e4) / 1e4 === lon;
  }, { timeoutMs: 5000 }).catch(async (e) => {
    throw new Error(`${e.message}; want ${JSON.stringify(want)}, fields ${await fieldNumber(page, 'site.latitude')}, ${await fieldNumber(page, 'site.longitude')}`);
  });
}

describe('site picker', { timeout: 240000 }, () => {
  let session, geocoder, tiles;
  let geocoderFails = false;

  before(async () => {
    geocoder = await fakeServer((req) => (geocoderFails
      ? [500, 'application/json', '{"error":"boom"}']
      : req.url.startsWith('/v1/search?') ? [200, 'application/json', BERLIN] : [404, 'text/plain', 'no']));
    tiles = await fakeServer((req) => {
      const m = /^\/tiles\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url);
      return m ? [200, 'image/png', TILES[(Number(m[2]) + Number(m[3])) % 2]] : [404, 'text/plain', 'no'];
    });
    session = await Session.start({
      name: 'site-picker',
      overrides: {
        devices: [], loads: [], appliances: [], http: { read_without_login: false },
        site: { map_tiles_url: `${tiles.url}/tiles/{z}/{x}/{y}.png`, geocoder_url: `${geocoder.url}/v1/search` },
      },
    });
  });

  after(async () => {
    const exit = await session?.close();
    geocoder?.server.close();
    tiles?.server.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('search "Berlin", pick it, click on the map: the fields follow', { timeout: 120000 }, async () => {
    const page = await session.newPage(PHONE, { initScript: () => { localStorage.setItem('balkon.lang', 'en'); } });
    const cspErrors = [];
    page.on('console', (msg) => { if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) cspErrors.push(msg.text()); });
    await page.addInitScript(RECORD);
    const response = await page.goto('/');
    assert.match(response.headers()['content-security-policy'], new RegExp(`img-src 'self' data: ${tiles.url};`));
    await session.login(page);
    await page.goto('/#/setup');
    await waitForTestId(page, 'onb-step-site');
    // The picker is its own chunk, loaded for this step only.
    await waitForTestId(page, 'site-map');
    const where = await byTestId(page, 'site-picker-where').textContent();
    assert.match(where, new RegExp(`sends the search to ${geocoder.url.replace('http://', '')}`));
    assert.match(where, new RegExp(`loads the map from ${tiles.url.replace('http://', '')}`));

    await byTestId(page, 'place-q').fill('Berlin');
    await byTestId(page, 'place-search').click();
    const first = await waitForTestId(page, 'place-result-0');
    assert.equal(await first.textContent(), 'Berlin, 10967, Land Berlin, Germany');
    assert.equal(await byTestId(page, 'place-results').locator('li').count(), 5);
    const asked = geocoder.requests.at(-1).url;
    assert.equal(asked, '/v1/search?name=Berlin&count=5&language=en&format=json');
    await screenshot(page, 'site-picker-1-results');
    await first.click();
    await waitForTestId(page, 'place-picked');
    assert.equal(await fieldNumber(page, 'site.latitude'), Math.round(FIRST.latitude * 1e4) / 1e4);
    assert.equal(await fieldNumber(page, 'site.longitude'), Math.round(FIRST.longitude * 1e4) / 1e4);
    assert.equal(await byTestId(page, 'field-site.timezone').inputValue(), 'Europe/Berlin');

    // The map moved to the place at zoom 14: the tile under the place was asked, with the
    // page's origin as Referer (the page itself sends none).
    const map = byTestId(page, 'site-map');
    assert.equal(await map.getAttribute('data-zoom'), '14');
    const centre = toPixels(FIRST.latitude, FIRST.longitude, 14);
    const tile = `/tiles/14/${Math.floor(centre.x / 256)}/${Math.floor(centre.y / 256)}.png`;
    const got = await waitFor(`the tile ${tile}`, () => tiles.requests.find((r) => r.url === tile));
    assert.equal(got.headers.referer, `${session.url}/`);
    await waitFor('the tiles to show', () => map.locator('img.map-tile').evaluateAll(
      (imgs) => imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth === 256)));
    assert.match(await map.textContent(), /© OpenStreetMap contributors/);

    // A tap 60 px right of and 40 px above the centre.
    let box = await mapBox(page);
    let tap = { x: Math.round(box.w / 2) + 60, y: Math.round(box.h / 2) - 40 };
    await page.touchscreen.tap(box.left + tap.x, box.top + tap.y);
    await expectPlace(page, centre.x - box.w / 2 + tap.x, centre.y - box.h / 2 + tap.y, 14, 'a tap');
    // The marker is where the tap was.
    const marker = await byTestId(page, 'site-map-marker').evaluate((el) => ({ x: parseFloat(el.style.left), y: parseFloat(el.style.top) }));
    assert.ok(Math.abs(marker.x - tap.x) <= 1.5 && Math.abs(marker.y - tap.y) <= 1.5, `marker at ${JSON.stringify(marker)}, tap ${JSON.stringify(tap)}`);
    await screenshot(page, 'site-picker-2-tapped');

    // Dragged 100 px to the left, zoomed in once (+): a click 30 px left of and 20 px below
    // the centre is that point at zoom 15.
    box = await mapBox(page); // the full-page screenshot may have moved the page
    const from = { x: box.left + box.w / 2, y: box.top + box.h / 2 };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(from.x - 10 * i, from.y);
    await page.mouse.up();
    await byTestId(page, 'map-zoom-in').click();
    assert.equal(await map.getAttribute('data-zoom'), '15');
    // The drag was no click: the fields kept the tapped place until now.
    box = await mapBox(page);
    const moved = { x: 2 * (centre.x + 100), y: 2 * centre.y };
    tap = { x: Math.round(box.w / 2) - 30, y: Math.round(box.h / 2) + 20 };
    await page.mouse.click(box.left + tap.x, box.top + tap.y);
    await expectPlace(page, moved.x - box.w / 2 + tap.x, moved.y - box.h / 2 + tap.y, 15, 'drag, zoom, click');
    await screenshot(page, 'site-picker-3-phone');

    // The step takes the place: on to the modules and back, the fields keep it.
    const lat = await fieldNumber(page, 'site.latitude');
    await byTestId(page, 'onb-next').click();
    await waitForTestId(page, 'onb-step-pv');
    await byTestId(page, 'onb-back').click();
    await waitForTestId(page, 'onb-step-site');
    assert.equal(await fieldNumber(page, 'site.latitude'), lat);

    assert.deepEqual(await page.evaluate(() => window.__violations), [], 'CSP violations');
    assert.deepEqual(cspErrors, [], 'CSP errors in the console');
    assert.deepEqual(page.errors, []);
  });

  it('in German, a failing geocoder, and Settings → Site', { timeout: 120000 }, async () => {
    const page = await session.newPage(PHONE, { initScript: () => { localStorage.setItem('balkon.lang', 'de'); } });
    await page.addInitScript(RECORD);
    await page.goto('/');
    await session.login(page);
    await page.goto('/#/setup');
    await waitForTestId(page, 'site-map');
    await page.getByText('Ort oder Postleitzahl suchen').waitFor();
    assert.equal((await byTestId(page, 'place-search').textContent()).trim(), 'Suchen');
    assert.match(await byTestId(page, 'site-map').textContent(), /© OpenStreetMap-Mitwirkende/);
    await byTestId(page, 'place-q').fill('Berlin');
    await byTestId(page, 'place-q').press('Enter');
    await waitForTestId(page, 'place-result-0');
    assert.match(geocoder.requests.at(-1).url, /&language=de&/);
    await byTestId(page, 'place-result-0').click();
    assert.match(await (await waitForTestId(page, 'place-picked')).textContent(), /^Gesetzt auf Berlin, 10967, Land Berlin, Germany \(Europe\/Berlin\)/);
    await screenshot(page, 'site-picker-de');

    // The geocoder fails: the page says so, in German, and the fields stay.
    geocoderFails = true;
    try {
      await byTestId(page, 'place-q').fill('Potsdam');
      await byTestId(page, 'place-search').click();
      const error = await waitForTestId(page, 'place-error');
      assert.match(await error.textContent(), /^Die Ortssuche hat versagt: the geocoder answered HTTP 500/);
    } finally {
      geocoderFails = false;
    }
    assert.equal(await byTestId(page, 'field-site.timezone').inputValue(), 'Europe/Berlin');

    // Settings → Site: the picker on request, a click on the map sets the fields there too.
    await openView(page, 'settings');
    await byTestId(page, 'site-picker-open').click();
    await waitForTestId(page, 'site-map');
    const before = await fieldNumber(page, 'site.latitude');
    const box = await mapBox(page);
    await page.mouse.click(box.left + box.w / 2, box.top + 20);
    await waitFor('Settings to take the clicked place', async () => (await fieldNumber(page, 'site.latitude')) > before);
    await screenshot(page, 'site-picker-settings-de');
    assert.deepEqual(await page.evaluate(() => window.__violations), [], 'CSP violations');
    assert.deepEqual(page.errors, []);
  });
});
