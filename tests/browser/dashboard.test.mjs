// What a person sees on the dashboard, against the data-testid contract the dashboard
// renders (docs/testing.md): the real daemon runs the demo site at 60x speed on loopback and
// Debian's Chromium shows the page. Each test opens its own fresh browser context.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  ARTIFACTS_DIR, DESKTOP, PHONE, Session, VIEWS, byTestId, openView, parseWatts, screenshot,
  sleep, waitFor, waitForTestId,
} from './harness.mjs';

const TEST_TIMEOUT_MS = 90000;

// An element that shows what a view is about once it has rendered its data, so a
// screenshot shows the view filled in rather than half loaded.
const VIEW_CONTENT = {
  live: 'flow-pv-w',
  plan: 'plan-chart',
  history: 'history-chart',
  savings: 'savings-vs-no-battery',
  devices: 'device-demo-plug',
  notifications: 'notifications-list, notifications-empty',
  settings: 'settings-save',
};

function contentLocator(page, view) {
  return page.locator(VIEW_CONTENT[view].split(', ').map((id) => `[data-testid="${id}"]`).join(', ')).first();
}

function assertNoPageErrors(page) {
  assert.deepEqual(page.errors, [], 'uncaught exceptions in the page');
}

// The shown watts of the three flows, read in one go so they belong to one render.
function readFlows(page) {
  return page.evaluate(() => Object.fromEntries(['pv', 'home', 'grid'].map((name) => {
    const el = document.querySelector(`[data-testid="flow-${name}-w"]`);
    return [name, el ? el.textContent.trim() : null];
  })));
}

// Shown watts agree with a status when they are its values rounded for display. Grid may be
// shown as a magnitude under an import/export label, so a shown number without a sign is
// compared with the absolute value.
function agrees(shownText, value) {
  const shown = parseWatts(shownText);
  if (shown === null) return false;
  const expected = shown < 0 ? value : Math.abs(value);
  return Math.abs(shown - expected) <= 1.5 + Math.abs(expected) * 0.01;
}

// Polls GET /api/v1/status in the background and keeps what it saw in the last seconds, so
// the page's numbers (which arrive by SSE, up to a second later) can be matched to one.
function watchStatus(session, keepMs = 5000) {
  const seen = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        seen.push({ at: Date.now(), status: await session.api('/api/v1/status') });
      } catch { /* the test fails on its own if the daemon is gone */ }
      while (seen.length && seen[0].at < Date.now() - keepMs) seen.shift();
      await sleep(100);
    }
  })();
  return {
    recent: () => seen.map((entry) => entry.status),
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function flowsMatchRecentStatus(page, watcher) {
  return waitFor('flow-pv-w/flow-home-w/flow-grid-w to show the watts of a status the daemon just had',
    async () => {
      const shown = await readFlows(page);
      const match = watcher.recent().find((s) =>
        agrees(shown.pv, s.pv_w) && agrees(shown.home, s.home_w) && agrees(shown.grid, s.grid_w));
      if (!match) {
        const recent = watcher.recent().slice(-3).map((s) => ({ pv_w: s.pv_w, home_w: s.home_w, grid_w: s.grid_w }));
        throw new Error(`shown ${JSON.stringify(shown)}, latest statuses ${JSON.stringify(recent)}`);
      }
      return match;
    }, { timeoutMs: 15000, intervalMs: 200 });
}

function pngSize(file) {
  const png = fs.readFileSync(file);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', `${file} is not a PNG`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), bytes: png.length };
}

// Whether a plug switch shows "on": a checkbox's checked, else aria-pressed (a toggle
// button) or aria-checked (role=switch). A switch that says neither is not accessible.
function switchIsOn(locator) {
  return locator.evaluate((el) => {
    if (el.tagName === 'INPUT') return el.checked;
    const state = el.getAttribute('aria-pressed') ?? el.getAttribute('aria-checked');
    if (state === null) throw new Error('plug switch has neither checked, aria-pressed nor aria-checked');
    return state === 'true';
  });
}

async function plugIsOn(session, id) {
  const { devices } = await session.api('/api/v1/devices');
  const plug = devices.find((d) => d.id === id);
  assert.ok(plug, `${id} is not in /api/v1/devices`);
  return plug.values.on === 1 || plug.values.on === true;
}

describe('dashboard', { timeout: 280000 }, () => {
  let session;

  before(async () => {
    session = await Session.start({ name: 'dashboard' });
  });

  afterEach(async () => {
    await session?.closePages();
  });

  after(async () => {
    const exit = await session?.close();
    if (exit) {
      assert.ok(exit.code === 0 && !exit.killed,
        `the daemon did not stop cleanly on SIGTERM (${JSON.stringify({ ...exit, log: undefined })}):\n${exit.log}`);
    }
  });

  // (g) Runs first, so Chromium and the daemon are as a person's first visit finds them.
  it('reports time to first render and page weight (figure, no limit)', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Recorded by the page itself, relative to its navigation start (performance.now()).
    const page = await session.newPage(DESKTOP, {
      initScript: () => {
        const watts = /^\s*[-−]?\s*\d[\d.,\s\u00a0\u202f]*\s*W\s*$/;
        const check = () => {
          const el = document.querySelector('[data-testid="flow-pv-w"]');
          if (el && watts.test(el.textContent)) {
            window.__balkonFirstRenderMs = performance.now();
            return true;
          }
          return false;
        };
        new MutationObserver((_, observer) => {
          if (check()) observer.disconnect();
        }).observe(document, { subtree: true, childList: true, characterData: true });
      },
    });
    // Every request of the first visit: the page's and its service worker's (which caches
    // the app shell as it installs, and then fetches the API for the page). A request the
    // service worker answered counts nothing; its own fetch from the network counts.
    const requests = new Set();
    const isStream = (request) => new URL(request.url()).pathname === '/api/v1/events';
    const context = page.context();
    context.on('request', (request) => {
      if (isStream(request)) return;
      const worker = request.serviceWorker();
      const entry = { request, done: false, bytes: 0, worker: !!worker, script: worker?.url() === request.url() };
      requests.add(entry);
      // Playwright reports neither the body size of the worker's own script nor, always, its
      // response or end; its size is taken from the response's headers (Content-Length: the
      // encoded size) when they come, else asked of the daemon below. It is not waited for.
      if (entry.script) {
        request.response().then(async (response) => {
          if (!response || entry.done) return;
          const headers = await response.headersArray();
          entry.bytes = Number(response.headers()['content-length'] || 0) +
            headers.reduce((n, h) => n + h.name.length + h.value.length + 4, 0);
          entry.done = true;
        }).catch(() => {});
      }
    });
    const finish = async (request, failed) => {
      const entry = [...requests].find((e) => e.request === request);
      if (!entry || entry.script) return;
      try {
        const response = failed ? null : await request.response();
        if (response && !response.fromServiceWorker()) {
          const sizes = await request.sizes();
          entry.bytes = Math.max(0, sizes.responseHeadersSize) + Math.max(0, sizes.responseBodySize);
        }
      } catch {
        // The page or worker went away meanwhile: nothing more to learn of this request.
      } finally {
        entry.done = true;
      }
    };
    context.on('requestfinished', (request) => finish(request, false));
    context.on('requestfailed', (request) => finish(request, true));

    const main = await page.goto('/');
    assert.equal(main.status(), 200);
    const firstRenderMs = await waitFor('flow-pv-w to show a number of watts',
      () => page.evaluate(() => window.__balkonFirstRenderMs), { timeoutMs: 15000 });
    // The first visit is over when the page has loaded and nothing but the event stream has
    // been in flight for a second (the service worker installs after the load).
    await page.waitForLoadState('load');
    let quietSince = Date.now();
    await waitFor('the first load to finish', () => {
      const pending = [...requests].filter((e) => !e.done && !e.script);
      if (pending.length) quietSince = Date.now();
      if (Date.now() - quietSince >= 1000) return true;
      throw new Error(`still loading: ${pending.map((e) => `${e.worker ? 'sw:' : ''}${e.request.url()}`).join(', ')}`);
    }, { timeoutMs: 20000, intervalMs: 50 });

    for (const entry of requests) {
      if (!entry.script || entry.done) continue;
      const response = await fetch(entry.request.url(), {
        headers: { 'Accept-Encoding': 'gzip, deflate, br', 'Service-Worker': 'script' },
      });
      await response.arrayBuffer();
      entry.bytes = Number(response.headers.get('content-length') || 0) +
        [...response.headers].reduce((n, [name, value]) => n + name.length + value.length + 4, 0);
      entry.done = true;
    }
    const all = [...requests];
    const sum = (entries) => entries.reduce((total, e) => total + e.bytes, 0);
    const pageWeightBytes = sum(all);
    assert.ok(pageWeightBytes > 0);
    const figure = `FIGURE first_render_ms=${Math.round(firstRenderMs)} page_weight_bytes=${pageWeightBytes}`;
    console.log(figure);
    console.log(`first load: ${all.length} requests, page ${sum(all.filter((e) => !e.worker))} bytes, ` +
      `service worker ${sum(all.filter((e) => e.worker))} bytes: ` +
      all.map((e) => `${e.worker ? 'sw:' : ''}${new URL(e.request.url()).pathname} ${e.bytes}`).join(', '));
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS_DIR, 'figures.txt'), figure + '\n');
    assertNoPageErrors(page);
  });

  // (a)
  it('live view shows the site\'s watts and follows them without a reload', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage();
    const streams = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/v1/events') streams.push(request.url());
    });
    const watcher = watchStatus(session);
    try {
      await page.goto('/');
      await openView(page, 'live');
      for (const id of ['flow-pv-w', 'flow-home-w', 'flow-grid-w']) {
        const el = await waitForTestId(page, id);
        await waitFor(`${id} to show a number of watts ("412 W")`,
          async () => parseWatts(await el.textContent()) !== null, { timeoutMs: 15000 });
      }
      await flowsMatchRecentStatus(page, watcher);

      // Marks this document: a reload or a navigation would lose the mark.
      await page.evaluate(() => { window.__balkonNoReload = true; });
      const url = page.url();
      const updated = await waitForTestId(page, 'live-updated');
      const first = (await updated.textContent()).trim();
      assert.notEqual(first, '', 'live-updated is empty');
      // Status events come at most once a second; the demo has a new status every 83 ms.
      await waitFor('live-updated to change (a new status from the SSE stream)',
        async () => (await updated.textContent()).trim() !== first, { timeoutMs: 6000, intervalMs: 100 });
      await flowsMatchRecentStatus(page, watcher);
      assert.equal(await page.evaluate(() => window.__balkonNoReload), true, 'the page was reloaded');
      assert.equal(page.url(), url);
      assert.ok(streams.length >= 1, 'the page never opened GET /api/v1/events');
      assertNoPageErrors(page);
    } finally {
      await watcher.stop();
    }
  });

  // (b)
  it('plan view draws the plan once the demo has planned', { timeout: TEST_TIMEOUT_MS }, async () => {
    const plan = await waitFor('GET /api/v1/plan to have a plan', async () => {
      const reply = await session.api('/api/v1/plan', { allowError: true });
      return reply.status === 200 && reply.body;
    }, { timeoutMs: 30000, intervalMs: 250 });
    assert.ok(plan.id, 'the plan has no id');

    const page = await session.newPage();
    await page.goto('/');
    await openView(page, 'plan');
    const chart = await waitForTestId(page, 'plan-chart');
    const canvas = chart.locator('canvas').first();
    await canvas.waitFor({ state: 'visible' });
    const box = await canvas.boundingBox();
    assert.ok(box.width >= 200 && box.height >= 100, `the chart's canvas is ${box.width}x${box.height}`);
    await waitFor('plan-empty to go away', async () => !(await byTestId(page, 'plan-empty').isVisible()),
      { timeoutMs: 10000 });
    assert.equal(await byTestId(page, 'plan-empty').count(), 0, 'plan-empty is still in the page');
    // Something is drawn: uPlot paints nothing at all without data; with it, lines, fills and
    // the grid cover well over half a per cent of the canvas.
    const painted = await waitFor('the plan chart to paint its series', async () => {
      const share = await canvas.evaluate((c) => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
        return n / (c.width * c.height);
      });
      return share >= 0.005 && share;
    }, { timeoutMs: 10000 });
    assert.ok(painted >= 0.005);
    assertNoPageErrors(page);
  });

  it('live view recommends when to start the demo\'s washing machine', { timeout: TEST_TIMEOUT_MS }, async () => {
    const rec = await waitFor('GET /api/v1/recommendations to have the washer computed from a plan', async () => {
      const { recommendations } = await session.api('/api/v1/recommendations');
      const washer = recommendations?.find((r) => r.id === 'washer');
      return washer && washer.status !== 'no_data' && washer;
    }, { timeoutMs: 30000, intervalMs: 250 });
    assert.equal(rec.name, 'Washing machine');

    const page = await session.newPage();
    await page.goto('/');
    await openView(page, 'live');
    const item = await waitForTestId(page, 'recommendation-washer');
    await waitFor('the card to show the washing machine\'s advice', async () => {
      const text = (await item.textContent()).trim();
      return text.includes('Washing machine') && !text.includes('no plan') && text;
    }, { timeoutMs: 10000 });
    // The server's sentence (English) is the item's title; the status matches the API.
    assert.match(await item.getAttribute('title'), /washing machine/i);
    assert.ok(['ok', 'no_fit', 'running', 'done'].includes(await item.getAttribute('data-status')));
    assertNoPageErrors(page);
  });

  // (c)
  it('devices view lists every device and switches the demo plug', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { devices } = await session.api('/api/v1/devices');
    assert.ok(devices.some((d) => d.id === 'demo-plug'), 'the demo has no demo-plug');
    const page = await session.newPage();
    await page.goto('/');
    await session.login(page); // switching is a change: it needs a login
    await openView(page, 'devices');
    for (const device of devices) {
      const row = await waitForTestId(page, `device-${device.id}`);
      const online = row.locator('[data-testid="device-online"]').first();
      await waitFor(`device-${device.id}'s device-online to say "${device.online ? 'online' : 'offline'}"`,
        async () => (await online.textContent()).trim().toLowerCase() === (device.online ? 'online' : 'offline'),
        { timeoutMs: 10000 });
      if (device.online) {
        const lastSeen = row.locator('[data-testid="device-last-seen"]').first();
        assert.notEqual((await lastSeen.textContent()).trim(), '', `device-${device.id} has no last-seen time`);
      }
    }

    const row = byTestId(page, 'device-demo-plug').first();
    const plugSwitch = row.locator('[data-testid="plug-switch-demo-plug"]').first();
    await plugSwitch.waitFor({ state: 'visible' });
    // The switch shows the plug's state before anyone touches it.
    const before = await waitFor('plug-switch-demo-plug to agree with /api/v1/devices', async () => {
      const shown = await switchIsOn(plugSwitch);
      return shown === (await plugIsOn(session, 'demo-plug')) && { shown };
    }, { timeoutMs: 10000 });

    await plugSwitch.click();
    await waitFor(`plug-switch-demo-plug to show ${before.shown ? 'off' : 'on'}`,
      async () => (await switchIsOn(plugSwitch)) === !before.shown, { timeoutMs: 10000 });
    await waitFor(`/api/v1/devices to report demo-plug ${before.shown ? 'off' : 'on'}`,
      async () => (await plugIsOn(session, 'demo-plug')) === !before.shown, { timeoutMs: 10000 });
    // A switch by hand holds (the load's override), so page and daemon still agree later.
    await sleep(2000);
    assert.equal(await switchIsOn(plugSwitch), !before.shown);
    assert.equal(await plugIsOn(session, 'demo-plug'), !before.shown);
    assertNoPageErrors(page);
  });

  // (f)
  it('saves a screenshot of every view', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage();
    await page.goto('/');
    for (const view of VIEWS) {
      await openView(page, view);
      await contentLocator(page, view).waitFor({ state: 'visible' });
      if (view === 'live') {
        await waitFor('flow-pv-w to show watts',
          async () => parseWatts(await byTestId(page, 'flow-pv-w').first().textContent()) !== null);
      }
      const file = await screenshot(page, view);
      const png = pngSize(file);
      assert.equal(png.width, DESKTOP.viewport.width, `${file} is ${png.width} px wide`);
    }
    assertNoPageErrors(page);
  });

  // (e)
  it('at phone width (390x844) every view is reachable and nothing overflows sideways', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage(PHONE);
    await page.goto('/');
    for (const view of VIEWS) {
      const nav = byTestId(page, `nav-${view}`).first();
      await nav.scrollIntoViewIfNeeded();
      const target = await nav.boundingBox();
      assert.ok(target && target.width >= 24 && target.height >= 24,
        `nav-${view} is too small to tap: ${JSON.stringify(target)}`);
      await nav.tap();
      await waitForTestId(page, `view-${view}`);
      await contentLocator(page, view).waitFor({ state: 'visible' });
      // A phone zooms out to fit a page wider than itself, which widens innerWidth along
      // with it, so the page is also held to the phone's own width.
      const width = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
      }));
      assert.ok(width.scroll <= width.inner && width.scroll <= PHONE.viewport.width,
        `view ${view} overflows sideways at ${PHONE.viewport.width} px: scrollWidth ${width.scroll}, innerWidth ${width.inner}`);
      await screenshot(page, `phone-${view}`);
    }
    assertNoPageErrors(page);
  });

  // (d) Last: it renames the site, which the other views show.
  it('settings show the server\'s error next to a bad field and keep a good change', { timeout: TEST_TIMEOUT_MS }, async () => {
    const config = await session.api('/api/v1/config');
    const page = await session.newPage();
    const isConfigPut = (r) => new URL(r.url()).pathname === '/api/v1/config' && r.request().method() === 'PUT';
    await page.goto('/');
    await session.login(page);
    await openView(page, 'settings');

    // An invalid capacity: the server refuses it and the page says why, next to the field.
    const capacity = await waitForTestId(page, 'field-battery.capacity_wh');
    await waitFor('field-battery.capacity_wh to show the running config',
      async () => Number(await capacity.inputValue()) === config.battery.capacity_wh, { timeoutMs: 10000 });
    await capacity.fill('-5');
    const refused = page.waitForResponse(isConfigPut);
    await byTestId(page, 'settings-save').first().click();
    const reply = await refused;
    assert.equal(reply.status(), 400, 'PUT /api/v1/config with capacity_wh -5 was not refused');
    const { errors } = await reply.json();
    const serverError = errors.find((e) => e.path === 'battery.capacity_wh');
    assert.ok(serverError, `no error for battery.capacity_wh in ${JSON.stringify(errors)}`);
    const error = await waitForTestId(page, 'error-battery.capacity_wh');
    await waitFor(`error-battery.capacity_wh to say "${serverError.message}"`,
      async () => (await error.textContent()).includes(serverError.message), { timeoutMs: 5000 });
    // Both boxes from one frame: the page may scroll to the error meanwhile.
    const distance = await page.evaluate(([fieldSelector, errorSelector]) => {
      const a = document.querySelector(fieldSelector).getBoundingClientRect();
      const b = document.querySelector(errorSelector).getBoundingClientRect();
      const dx = Math.max(0, b.left - a.right, a.left - b.right);
      const dy = Math.max(0, b.top - a.bottom, a.top - b.bottom);
      return Math.hypot(dx, dy);
    }, ['[data-testid="field-battery.capacity_wh"]', '[data-testid="error-battery.capacity_wh"]']);
    assert.ok(distance <= 60, `error-battery.capacity_wh is ${Math.round(distance)} px away from its field`);
    assert.equal(await byTestId(page, 'settings-saved').isVisible(), false, 'settings-saved shown after a refusal');
    assert.equal((await session.api('/api/v1/config')).battery.capacity_wh, config.battery.capacity_wh);

    // A valid change: saved, and still there after a reload.
    await page.reload();
    await openView(page, 'settings');
    const name = `Browser test balcony ${process.pid}`;
    const siteName = await waitForTestId(page, 'field-site.name');
    await waitFor('field-site.name to show the running config',
      async () => (await siteName.inputValue()) === config.site.name, { timeoutMs: 10000 });
    await siteName.fill(name);
    const accepted = page.waitForResponse(isConfigPut);
    await byTestId(page, 'settings-save').first().click();
    const ok = await accepted;
    assert.equal(ok.status(), 200, `PUT /api/v1/config refused a new site name: ${await ok.text()}`);
    await waitForTestId(page, 'settings-saved');
    assert.equal(await byTestId(page, 'error-site.name').isVisible(), false);
    assert.equal((await session.api('/api/v1/config')).site.name, name);

    await page.reload();
    await openView(page, 'settings');
    const reloaded = await waitForTestId(page, 'field-site.name');
    await waitFor(`field-site.name to show "${name}" after a reload`,
      async () => (await reloaded.inputValue()) === name, { timeoutMs: 10000 });
    assertNoPageErrors(page);
  });
});
