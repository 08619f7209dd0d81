// Logging in, as a person meets it on first start and afterwards: the real daemon with the
// demo site, started without a password and with reading closed (http.read_without_login
// false), and Debian's Chromium. The tests run in order and share the daemon: the first
// sets the password the others log in with.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Session, byTestId, openView, screenshot, waitFor, waitForTestId } from './harness.mjs';

const TEST_TIMEOUT_MS = 90000;
const PASSWORD = 'sunny-balcony-2026';

describe('login', { timeout: 280000 }, () => {
  let session;

  before(async () => {
    session = await Session.start({ name: 'auth', withPassword: false, overrides: { http: { read_without_login: false } } });
  });

  afterEach(async () => {
    await session?.closePages();
  });

  after(async () => {
    const exit = await session?.close();
    if (exit) assert.ok(exit.code === 0 && !exit.killed, `the daemon did not stop cleanly:\n${exit.log}`);
  });

  it('first start: nothing is readable until the password is set with the setup code', { timeout: TEST_TIMEOUT_MS }, async () => {
    const closed = await session.api('/api/v1/status', { allowError: true, token: null });
    assert.equal(closed.status, 401, 'GET /api/v1/status answered without a login');

    const page = await session.newPage();
    await page.goto('/');
    const panel = await waitForTestId(page, 'login');
    await waitForTestId(page, 'login-setup_code');
    assert.equal(await byTestId(page, 'view-live').count(), 0, 'the live view shows without a login');
    const codeFile = path.join(session.daemon.dir, 'setup-code');
    assert.match(await panel.textContent(), new RegExp(codeFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      'the panel does not say where the setup code is');
    await screenshot(page, 'login-setup');

    // A wrong code: refused, next to the code's field.
    await byTestId(page, 'login-setup_code').fill('not-the-code');
    await byTestId(page, 'login-password').fill(PASSWORD);
    await byTestId(page, 'login-repeat').fill(PASSWORD);
    await byTestId(page, 'login-submit').click();
    const codeError = await waitForTestId(page, 'login-error-setup_code');
    assert.match(await codeError.textContent(), /wrong code/);

    // The code from the file on the machine: the password is set and the page logged in.
    const code = fs.readFileSync(codeFile, 'utf8').trim();
    await byTestId(page, 'login-setup_code').fill(code);
    await byTestId(page, 'login-submit').click();
    await waitForTestId(page, 'logout');
    await waitForTestId(page, 'view-live');
    await waitForTestId(page, 'flow-pv-w');
    assert.ok(!fs.existsSync(codeFile), 'the spent setup code is still on disk');
    session.daemon.password = PASSWORD;

    const cookie = (await page.context().cookies()).find((c) => c.name === 'balkon_session');
    assert.ok(cookie, 'no session cookie');
    assert.equal(cookie.httpOnly, true, 'the session cookie is readable by scripts');
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie.includes('balkon_session')), false);

    // The page's own fetch without the CSRF token: the cookie alone does not make a change.
    const status = await page.evaluate(() => fetch('/api/v1/strategy', {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ strategy: 'optimal' }),
    }).then((r) => r.status));
    assert.equal(status, 403, 'a write with the cookie but without X-CSRF-Token was not refused');
  });

  it('logging out closes the dashboard; a wrong password is refused, the right one opens it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage();
    await page.goto('/');
    await session.login(page);
    await waitForTestId(page, 'view-live');
    await byTestId(page, 'logout').click();
    await waitForTestId(page, 'login');
    assert.equal(await byTestId(page, 'view-live').count(), 0);

    await byTestId(page, 'login-password').fill('not-the-password');
    await byTestId(page, 'login-submit').click();
    const error = await waitForTestId(page, 'login-error-password');
    assert.match(await error.textContent(), /wrong password/);
    await screenshot(page, 'login-wrong-password');

    await byTestId(page, 'login-password').fill(PASSWORD);
    await byTestId(page, 'login-submit').click();
    await waitForTestId(page, 'logout');
    await waitForTestId(page, 'flow-pv-w');
  });

  it('settings make an API token, shown once, that a script can use until it is revoked', { timeout: TEST_TIMEOUT_MS }, async () => {
    const page = await session.newPage();
    await page.goto('/');
    await session.login(page);
    await openView(page, 'settings');
    await waitForTestId(page, 'access');
    await byTestId(page, 'token-name').fill('backup script');
    await byTestId(page, 'token-make').click();
    const shown = await waitForTestId(page, 'new-token');
    const token = (await shown.textContent()).trim();
    assert.match(token, /^bst_[0-9a-f]{64}$/);
    await waitFor('the token list to name "backup script"',
      async () => (await byTestId(page, 'token-item').allTextContents()).some((t) => t.includes('backup script')));
    await screenshot(page, 'settings-access');

    // A read-only one: marked in the list, refused for a change.
    await byTestId(page, 'token-name').fill('metrics');
    await byTestId(page, 'token-read-only-box').check();
    await byTestId(page, 'token-make').click();
    await waitFor('the new read-only token', async () => (await byTestId(page, 'new-token').textContent()).trim() !== token);
    const reader = (await byTestId(page, 'new-token').textContent()).trim();
    await waitForTestId(page, 'token-read-only');
    const refusedReader = await session.api('/api/v1/strategy', { method: 'PUT', body: { strategy: 'optimal' }, token: reader, allowError: true });
    assert.equal(refusedReader.status, 403, 'a read-only token changed the strategy');
    assert.equal((await session.api('/api/v1/status', { token: reader, allowError: true })).status, 200);

    // A script with the token: may change the strategy; the list never shows the token.
    const write = await session.api('/api/v1/strategy', { method: 'PUT', body: { strategy: 'optimal' }, token });
    assert.equal(write.active, 'optimal');
    const list = await session.api('/api/v1/auth/tokens', { token });
    assert.ok(!JSON.stringify(list).includes(token), 'GET /api/v1/auth/tokens shows the token');

    await byTestId(page, 'token-revoke').first().click();
    await waitFor('the token to leave the list', async () => (await byTestId(page, 'token-item').count()) === 1);
    const refused = await session.api('/api/v1/strategy', { method: 'PUT', body: { strategy: 'optimal' }, token, allowError: true });
    assert.equal(refused.status, 401, 'a revoked token still works');
    assert.ok(!session.daemon.log().includes(token), 'the token appears in the daemon log');
    assert.ok(!session.daemon.log().includes(PASSWORD), 'the password appears in the daemon log');
  });
});
