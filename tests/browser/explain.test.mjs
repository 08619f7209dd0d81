// Decisions explained, as a person reads them: the demo site started at three moments
// (simulation.start) where the battery does three different things for three different
// reasons; the Live view's "what it does and why" sentence names the reason, in English and
// in German, with what comes next; the control card shows the control's target, measurement,
// setpoint and reason. Screenshots of each, desktop and phone.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DESKTOP, PHONE, Session, byTestId, screenshot, waitFor, waitForTestId } from './harness.mjs';

const TEST_TIMEOUT_MS = 90000;

// Each case: the config overrides, the reason the sentence must give, and words of the
// sentence in each language (from web/src/strings.js, so a wrong key or an untranslated
// sentence fails).
const CASES = [
  {
    name: 'night-at-minimum',
    overrides: { simulation: { start: '2026-12-07T02:00:00+01:00', initial_soc_pct: 10 } },
    reason: 'at_soc_min',
    words: { en: ['minimum charge', 'draws from the grid'], de: ['Mindestladestand', 'aus dem Netz'] },
  },
  {
    name: 'noon-storing-surplus',
    overrides: {
      simulation: { start: '2026-06-21T13:00:00+02:00', initial_soc_pct: 30, cloudiness_pct: 0 },
      household: { annual_kwh: 1200 },
    },
    reason: 'storing_surplus',
    words: { en: ['stores the solar surplus'], de: ['Solarüberschuss'] },
  },
  {
    name: 'midnight-saving-for-morning',
    overrides: { simulation: { start: '2026-06-22T00:30:00+02:00', initial_soc_pct: 80 } },
    reason: 'saving_for_dearer_hour',
    // The day price begins at 06:00 (config/demo.json's tariff): the hour it saves for.
    words: { en: ['dearer', '06:00', '38.0 ct/kWh'], de: ['teurer', '06:00', '38,0 ct/kWh'] },
    next: { en: 'From 06:00', de: 'Ab 06:00' },
  },
];

const langScript = (lang) => `try { localStorage.setItem('balkon.lang', '${lang}'); } catch {}`;

async function readWhy(page, reason) {
  const sentence = await waitForTestId(page, 'why-sentence');
  await waitFor(`why-sentence to give the reason ${reason}`,
    async () => (await sentence.getAttribute('data-reason')) === reason, { timeoutMs: 30000 });
  return (await sentence.textContent()).trim();
}

for (const c of CASES) {
  describe(`why: ${c.name}`, { timeout: 200000 }, () => {
    let session;
    before(async () => {
      session = await Session.start({ name: `explain-${c.name}`, overrides: c.overrides });
    });
    afterEach(async () => {
      await session?.closePages();
    });
    after(async () => {
      await session?.close();
    });

    it('the API gives the reason for the slot in force', { timeout: TEST_TIMEOUT_MS }, async () => {
      const plan = await waitFor(`a plan whose slot in force says ${c.reason}`, async () => {
        const p = await session.api('/api/v1/plan').catch(() => null);
        return p?.now?.reason?.code === c.reason ? p : null;
      }, { timeoutMs: 30000 });
      assert.equal(plan.reason.length, plan.ts.length, 'one reason per slot');
    });

    for (const lang of ['en', 'de']) {
      it(`Live says what the battery does and why, in ${lang}`, { timeout: TEST_TIMEOUT_MS }, async () => {
        const page = await session.newPage(DESKTOP, { initScript: langScript(lang) });
        await page.goto('/');
        const text = await readWhy(page, c.reason);
        for (const word of c.words[lang]) assert.ok(text.includes(word), `"${text}" lacks "${word}"`);
        // Not the English sentence on the German page, nor a bare code.
        assert.ok(!text.includes(c.reason), `"${text}" shows the code`);
        if (c.next) {
          const next = (await waitForTestId(page, 'why-next').then((l) => l.textContent())).trim();
          assert.ok(next.includes(c.next[lang]), `what's next "${next}" lacks "${c.next[lang]}"`);
        }
        // The control card: the target from the config, a measured grid power, a reason.
        const card = await waitForTestId(page, 'control-card');
        await waitFor('the control card to show the grid target',
          async () => /20\s*W/.test(await byTestId(page, 'control-target').first().textContent()));
        const ctlReason = await byTestId(card, 'control-reason').first().getAttribute('data-reason');
        assert.ok(ctlReason, 'the control card gives no reason');
        assert.deepEqual(page.errors, [], 'uncaught exceptions in the page');
        await screenshot(page, `explain-${c.name}-${lang}`);
      });
    }

    it('at phone width the sentence fits', { timeout: TEST_TIMEOUT_MS }, async () => {
      const page = await session.newPage(PHONE, { initScript: langScript('de') });
      await page.goto('/');
      await readWhy(page, c.reason);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.viewport.width, `the page is ${width} px wide on a phone`);
      await screenshot(page, `phone-explain-${c.name}`);
    });
  });
}
