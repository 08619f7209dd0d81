// A site that lacks parts, as a new user's first start has it: no devices and no modules.
// Live says what is missing and links to where to add it; the plan API says it planned with
// no battery and no solar; the setup's modules step adds a solar forecast with the first
// plane. English and German, desktop and phone.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DESKTOP, PHONE, Session, byTestId, screenshot, waitFor, waitForTestId } from './harness.mjs';

const english = () => {
  localStorage.setItem('balkon.lang', 'en');
  localStorage.setItem('balkon.setupDone', '1');
};

describe('a site without devices or modules', { timeout: 180000 }, () => {
  let session;

  before(async () => {
    session = await Session.start({
      name: 'setup-gaps',
      overrides: {
        devices: [], loads: [], appliances: [], pv: { planes: [] },
        providers: [{ id: 'tariff', type: 'fixed', price_per_kwh: 0.32 }],
      },
    });
  });

  after(async () => {
    const exit = await session?.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('Live names what is missing and links to it; the plan says so', async () => {
    const plan = await waitFor('the first plan', async () => {
      const answer = await session.api('/api/v1/plan', { allowError: true });
      return answer.status === 200 ? answer.body : null;
    }, { timeoutMs: 20000 });
    assert.equal(plan.summary.battery_capacity_wh, 0);
    assert.equal(plan.summary.pv_peak_w, 0);
    assert.equal(plan.now.reason.code, 'no_battery');

    const page = await session.newPage(DESKTOP, { initScript: english });
    await page.goto('/#/live');
    await waitForTestId(page, 'setup-gaps');
    assert.match(await byTestId(page, 'gap-noDevices').textContent(), /No devices: nothing is measured/);
    assert.match(await byTestId(page, 'gap-noPlanes').textContent(), /the plan assumes no solar/);
    // No battery: no gauge with an empty reading, the sentence says why.
    assert.equal(await page.locator('.battery-card [role="meter"]').count(), 0);
    assert.match(await byTestId(page, 'why-sentence').textContent(), /No battery is configured/);
    await screenshot(page, 'setup-gaps-live');

    await byTestId(page, 'gap-noDevices').getByRole('link').click();
    await waitForTestId(page, 'view-settings');
    const heading = page.locator('#h-sec-devices');
    await waitFor('the devices section in view', async () => {
      const box = await heading.boundingBox();
      return box && box.y >= 0 && box.y < 400;
    });
    await screenshot(page, 'setup-gaps-settings-devices');

    await page.goto('/#/live');
    await byTestId(page, 'lang-toggle').click();
    await page.getByRole('heading', { name: 'Noch nicht eingerichtet' }).waitFor();
    assert.match(await byTestId(page, 'gap-noPlanes').textContent(), /Der Plan rechnet ohne Solarstrom/);
    assert.deepEqual(page.errors, []);
  });

  it('the first plane brings a solar forecast, which can be turned off', async () => {
    const page = await session.newPage(PHONE, { initScript: english });
    await page.goto('/#/setup');
    await session.login(page);
    await waitForTestId(page, 'onb-step-site');
    await byTestId(page, 'onb-next').click();
    await waitForTestId(page, 'onb-step-pv');
    await waitForTestId(page, 'onb-no-planes');
    assert.equal(await byTestId(page, 'onb-pv-forecast').inputValue(), '');
    await byTestId(page, 'add-pv.planes').click();
    await byTestId(page, 'field-pv.planes[0].peak_w').fill('800');
    await waitFor('Open-Meteo chosen for the plane', async () =>
      (await byTestId(page, 'onb-pv-forecast').inputValue()) === 'open_meteo');
    assert.equal(await byTestId(page, 'onb-no-planes').count(), 0);
    await screenshot(page, 'setup-gaps-pv-forecast');
    // No test reaches the internet: no forecast for this site.
    await byTestId(page, 'onb-pv-forecast').selectOption('');
    await byTestId(page, 'onb-next').click();
    await waitForTestId(page, 'onb-step-tariff');
    await byTestId(page, 'onb-next').click();
    await waitForTestId(page, 'onb-step-devices');
    await byTestId(page, 'onb-save').click();
    await waitForTestId(page, 'view-devices');
    const config = await session.api('/api/v1/config');
    assert.equal(config.pv.planes.length, 1);
    assert.equal(config.pv.planes[0].peak_w, 800);
    assert.ok(!config.providers.some((p) => p.type === 'open_meteo'), JSON.stringify(config.providers));
    assert.ok(!('__pvForecastChosen' in config), 'the form\'s own flag reached the config');
    await waitFor('a plan with the modules', async () =>
      (await session.api('/api/v1/plan')).summary.pv_peak_w === 800, { timeoutMs: 20000 });
    assert.deepEqual(page.errors, []);
  });
});
