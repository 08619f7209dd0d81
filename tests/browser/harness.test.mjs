// The harness itself: the daemon starts on a free loopback port with the demo config and a
// temporary database, Chromium shows what it serves, screenshots land among the artifacts,
// and closing leaves neither the daemon nor the browser behind. These hold whatever the
// dashboard looks like.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ARTIFACTS_DIR, Daemon, Session, parseWatts, screenshot, stripJsonComments } from './harness.mjs';

function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code !== 'ESRCH';
  }
}

describe('harness', { timeout: 120000 }, () => {
  it('runs the daemon and Chromium, screenshots the page and stops both', async () => {
    const session = await Session.start({ name: 'harness' });
    let exit;
    try {
      const { daemon } = session;
      assert.match(daemon.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const config = JSON.parse(fs.readFileSync(daemon.configPath, 'utf8'));
      assert.equal(config.http.listen, `127.0.0.1:${daemon.port}`);
      assert.equal(config.storage.path, daemon.dbPath);
      assert.equal(config.simulation.speed, 60);
      const health = await session.api('/api/v1/health');
      assert.equal(health.status, 'ok');
      assert.equal(health.clock_speed, 60);

      const page = await session.newPage();
      const response = await page.goto('/');
      assert.equal(response.status(), 200);
      assert.match(response.headers()['content-type'], /^text\/html/);
      assert.notEqual(await page.title(), '');
      const file = await screenshot(page, 'start');
      assert.equal(path.dirname(file), ARTIFACTS_DIR);
      const png = fs.readFileSync(file);
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
      assert.equal(png.readUInt32BE(16), 1280); // IHDR width: the desktop viewport
      assert.deepEqual(page.errors, []);

      const pid = daemon.child.pid;
      const browser = session.browser;
      exit = await session.close();
      assert.equal(browser.isConnected(), false, 'the browser is still running');
      assert.equal(processExists(pid), false, 'the daemon is still running');
      assert.equal(fs.existsSync(daemon.dir), false, 'the temporary directory is left behind');
      assert.ok(fs.existsSync(path.join(ARTIFACTS_DIR, 'daemon-harness.log')));
    } finally {
      await session.close();
    }
    assert.equal(exit.code, 0, `the daemon did not exit cleanly on SIGTERM:\n${exit.log}`);
  });

  it('reports a daemon that cannot start, with its log, and cleans up', async () => {
    // An invalid config (capacity below zero) makes the daemon refuse to start.
    await assert.rejects(Daemon.start({ name: 'invalid-config', overrides: { battery: { capacity_wh: -5 } } }),
      (err) => /exited early/.test(err.message) && /capacity_wh/.test(err.message));
  });

  it('reads the demo config and the watts the dashboard shows', () => {
    assert.equal(stripJsonComments('{"a": "http://x" // c\n, /* d */ "b": 1}'), '{"a": "http://x" \n,  "b": 1}');
    assert.equal(parseWatts('412 W'), 412);
    assert.equal(parseWatts('−120 W'), -120);
    assert.equal(parseWatts('1.234 W'), 1234);
    assert.equal(parseWatts('1,234 W'), 1234);
    assert.equal(parseWatts('1\u202f234 W'), 1234);
    assert.equal(parseWatts('12,5 W'), 12.5);
    assert.equal(parseWatts('– W'), null);
    assert.equal(parseWatts(''), null);
  });
});
