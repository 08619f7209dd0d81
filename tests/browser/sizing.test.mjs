// The savings page's "what another battery would have saved": the real daemon runs the demo
// site at 600x (an hour of data every six seconds), and the page shows one row per battery
// size with the figures the daemon's GET /api/v1/savings/sizes answered it, the configured
// battery marked, a payback from the demo's battery price, in English and in German, and at
// phone width without sideways scrolling.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DESKTOP, PHONE, Session, byTestId, openView, screenshot, waitFor, waitForTestId } from './harness.mjs';

const TEST_TIMEOUT_MS = 90000;

// The number in a shown amount such as "€1.23", "1,23 €" or "–" (null).
function amount(text, lang) {
  const digits = text.replace(/[^\d.,\u2212-]/g, '').replace('\u2212', '-');
  if (!/\d/.test(digits)) return null;
  return Number(lang === 'de' ? digits.replace(/\./g, '').replace(',', '.') : digits.replace(/,/g, ''));
}

// Opens the savings view and returns the sizes answer the page itself received.
async function openSizing(page) {
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/savings/sizes');
  await page.goto('/');
  await openView(page, 'savings');
  const response = await answer;
  assert.equal(response.status(), 200);
  const body = await response.json();
  await waitForTestId(page, 'sizing-table');
  return body;
}

describe('battery sizing on the savings page', { timeout: 200000 }, () => {
  let session;

  before(async () => {
    session = await Session.start({ name: 'sizing', overrides: { simulation: { speed: 600 } } });
    // At least one whole simulated hour stored, so there is a history to replay.
    await waitFor('GET /api/v1/savings/sizes to have sizes', async () => {
      const r = await session.api('/api/v1/savings/sizes');
      return r.sizes?.length === 5 && r.days > 0;
    }, { timeoutMs: 60000, intervalMs: 1000 });
  });

  afterEach(async () => {
    await session?.closePages();
  });

  after(async () => {
    const exit = await session?.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('shows a row per size with the daemon\'s figures, yours marked, in English and German', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage({ ...DESKTOP, locale: 'en-US' });
    const body = await openSizing(page);
    const card = byTestId(page, 'savings-sizing');
    assert.match(await card.locator('h2').innerText(), /What another battery would have saved/);
    // The demo: a 2.24 kWh battery bought for 700 EUR; default sizes around it.
    assert.deepEqual(body.sizes.map((x) => x.battery_wh), [0, 1120, 2240, 4480, 6720]);
    assert.equal(await byTestId(page, 'sizing-table').locator('tbody tr').count(), 5);
    for (const size of body.sizes) {
      const row = byTestId(page, `sizing-row-${size.battery_wh}`);
      const head = await row.locator('th').innerText();
      assert.equal(amount(head, 'en'), size.battery_wh / 1000, `row head "${head}"`);
      assert.equal(/yours/.test(head), size.battery_wh === 2240, `row head "${head}"`);
      const saved = await row.locator('[data-testid="sizing-saved"]').innerText();
      assert.ok(Math.abs(amount(saved, 'en') - size.saved) < 0.006, `${size.battery_wh} Wh shows "${saved}", the daemon said ${size.saved}`);
      const payback = await row.locator('[data-testid="sizing-payback"]').innerText();
      if (size.payback_years == null) assert.equal(payback.trim(), '–');
      else assert.match(payback, new RegExp(`^${size.payback_years.toFixed(1)} years$`));
    }
    // Nothing without a battery; the demo's own battery saves something in a day of sun and load.
    assert.equal(amount(await byTestId(page, 'sizing-row-0').locator('[data-testid="sizing-saved"]').innerText(), 'en'), 0);
    assert.ok(body.sizes[2].saved >= 0 && body.sizes[4].saved >= body.sizes[1].saved - 0.005,
      `a bigger battery saved less: ${JSON.stringify(body.sizes)}`);
    assert.ok(body.sizes[2].price === 700);

    await byTestId(page, 'lang-toggle').first().click();
    await waitFor('the sizing card in German', async () =>
      /Was ein anderer Speicher gespart hätte/.test(await card.locator('h2').innerText()));
    const head = await byTestId(page, 'sizing-row-2240').locator('th').innerText();
    assert.match(head, /Ihrer/);
    assert.equal(amount(head, 'de'), 2.24);
    assert.match(await card.innerText(), /Hätte gespart/);
    await screenshot(page, 'sizing-desktop-de');
    assert.deepEqual(page.errors, []);
  });

  it('fits a phone (390 px) without sideways scrolling', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage({ ...PHONE, locale: 'de-DE' });
    await openSizing(page);
    const card = byTestId(page, 'savings-sizing');
    await card.scrollIntoViewIfNeeded();
    const fit = await page.evaluate(() => {
      const wrap = document.querySelector('[data-testid="sizing-table"]').parentElement;
      return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        tableScroll: wrap.scrollWidth, tableClient: wrap.clientWidth };
    });
    assert.ok(fit.scroll <= fit.inner && fit.scroll <= PHONE.viewport.width, `the page overflows: ${JSON.stringify(fit)}`);
    assert.ok(fit.tableScroll <= fit.tableClient, `the table needs sideways scrolling: ${JSON.stringify(fit)}`);
    assert.match(await card.locator('h2').innerText(), /Was ein anderer Speicher gespart hätte/);
    await screenshot(page, 'sizing-phone');
    assert.deepEqual(page.errors, []);
  });
});
