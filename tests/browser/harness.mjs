// The browser tests' harness: runs the real balkonsolard on a free loopback port with the
// demo's simulated site (config/demo.json, 60x speed, a temporary database) and drives
// Debian's Chromium (/usr/bin/chromium) with playwright-core, as a person would use the
// dashboard. Nothing here talks to anything but 127.0.0.1.
//
// Everything started here is stopped again: session.close() (call it from an after hook)
// closes the browser and stops the daemon; if the test process dies first, an exit handler
// kills the daemon and removes its directory, and playwright kills the browser it launched.

import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const SOURCE_DIR = process.env.BALKON_SOURCE_DIR ||
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.BALKON_CHROMIUM || '/usr/bin/chromium';

// The flags the project runs Chromium with: headless in a container without a sandbox or
// GPU, and nothing in the background that would reach for the network. --no-proxy-server
// keeps a proxy from the environment off the loopback requests.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-proxy-server',
];

// Screenshots and the daemon's log go here; a relative BALKON_ARTIFACTS is taken from the
// source tree's root, so the place does not depend on where ctest runs.
export const ARTIFACTS_DIR = path.resolve(SOURCE_DIR,
  process.env.BALKON_ARTIFACTS || path.join('build', 'test-artifacts'), 'browser');

// The views of the dashboard, by the names of their nav-<name>/view-<name> test ids.
export const VIEWS = ['live', 'plan', 'history', 'savings', 'devices', 'notifications', 'settings'];

// Daemons not cleaned up yet: on exit, whatever happened, they are killed and their
// temporary directories removed (an exit handler can only do synchronous work).
const live = new Set();

process.on('exit', () => {
  for (const daemon of live) {
    try { daemon.child?.kill('SIGKILL'); } catch { /* already gone */ }
    fs.rmSync(daemon.dir, { recursive: true, force: true });
  }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Thrown inside a waitFor() callback to stop waiting at once (the daemon died, say).
export class GiveUp extends Error {}

// Polls fn until it returns a truthy value and returns that; throws with what it last saw
// (fn's return or error) after timeoutMs, or at once when fn throws GiveUp.
export async function waitFor(what, fn, { timeoutMs = 10000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      last = value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${seen})`);
    }
    await sleep(intervalMs);
  }
}

// config/demo.json is JSON with // comments, which the daemon accepts; JSON.parse does not.
// Drops the comments outside strings.
export function stripJsonComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2);
      if (i < 0) break;
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

// A port the kernel just handed out on 127.0.0.1 and released: free unless something
// grabs it in between, which start() survives by trying again.
async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// The demo config with the listen address and the database moved into dir.
export function demoConfig(dir, port, overrides = {}) {
  const config = JSON.parse(stripJsonComments(
    fs.readFileSync(path.join(SOURCE_DIR, 'config', 'demo.json'), 'utf8')));
  config.http = { ...config.http, listen: `127.0.0.1:${port}` };
  config.storage = { ...config.storage, path: path.join(dir, 'test.db') };
  config.simulation = { ...config.simulation, speed: 60 };
  // The setup's map and place search reach beyond loopback (the browser loads tiles, the
  // daemon asks a geocoder): off unless a test points them at its own fakes.
  config.site = { ...config.site, map_tiles_url: '', geocoder_url: '' };
  for (const [key, value] of Object.entries(overrides)) {
    // A list (devices, providers) replaces the demo's; an object is merged into it.
    config[key] = Array.isArray(value) ? value : { ...config[key], ...value };
  }
  return config;
}

// A running balkonsolard. Start with Daemon.start(); stop() ends it and says how it ended.
export class Daemon {
  constructor(dir, name = 'daemon') {
    this.dir = dir;
    this.name = name;
    this.configPath = path.join(dir, 'config.json');
    this.dbPath = path.join(dir, 'test.db');
    this.logPath = path.join(dir, 'daemon.log');
    this.child = null;
    this.port = 0;
    this.exit = null; // {code, signal} once it ended
    this.password = null; // the login password, set with `balkonsolard password` before start
    this.token = null; // an API token for api(), made with `balkonsolard token`
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40) {
    return this.log().split('\n').slice(-lines).join('\n');
  }

  // withPassword: false starts the daemon as on first start (no password, no token), so
  // the dashboard asks for the setup code.
  static async start({ name = 'daemon', overrides = {}, attempts = 3, withPassword = true } = {}) {
    const binary = process.env.BALKONSOLARD;
    if (!binary) throw new Error('BALKONSOLARD is not set (run the browser tests through ctest)');
    if (!fs.existsSync(binary)) throw new Error(`BALKONSOLARD=${binary} does not exist`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'balkon-browser-'));
    const daemon = new Daemon(dir, name);
    live.add(daemon);
    if (withPassword) {
      // As the owner would from a shell: the password on stdin, the token printed.
      daemon.password = 'balcony-test-password';
      execFileSync(binary, ['password', '--db', daemon.dbPath], { input: `${daemon.password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
      daemon.token = execFileSync(binary, ['token', 'browser-tests', '--db', daemon.dbPath],
        { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
    }
    let lastError;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await daemon.#spawn(binary, await freePort(), overrides);
        return daemon;
      } catch (err) {
        lastError = err;
        await daemon.stop();
        // Only a port taken between freePort() and the daemon's bind is worth a retry.
        if (!/cannot listen/.test(daemon.log())) break;
      }
    }
    daemon.cleanup();
    throw lastError;
  }

  async #spawn(binary, port, overrides) {
    fs.writeFileSync(this.configPath, JSON.stringify(demoConfig(this.dir, port, overrides), null, 2));
    const log = fs.openSync(this.logPath, 'w');
    this.exit = null;
    this.child = spawn(binary, ['--config', this.configPath, '--db', this.dbPath, '--log-level', 'info'],
      { stdio: ['ignore', log, log], cwd: this.dir });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.child.once('error', (err) => {
        this.exit = { code: null, signal: null, error: err };
        resolve(this.exit);
      });
    });

    // The log names the port it bound; the health endpoint says it serves.
    const listening = await waitFor('the daemon to listen', () => {
      if (this.exit) throw new GiveUp(`daemon exited early (${JSON.stringify(this.exit)}):\n${this.logTail()}`);
      return /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(this.log());
    }, { timeoutMs: 15000, intervalMs: 20 });
    this.port = Number(listening[1]);
    if (this.port !== port) throw new Error(`daemon listens on ${this.port}, config said ${port}`);
    await waitFor('GET /api/v1/health to answer "ok"', async () => {
      if (this.exit) throw new GiveUp(`daemon exited (${JSON.stringify(this.exit)}):\n${this.logTail()}`);
      const health = await this.api('/api/v1/health');
      return health.status === 'ok';
    }, { timeoutMs: 15000, intervalMs: 50 });
  }

  // JSON from the daemon's API; throws on a non-2xx status unless allowError.
  // Sends the daemon's API token unless token is given (null: none).
  async api(pathname, { method = 'GET', body, allowError = false, token = this.token } = {}) {
    const headers = body === undefined ? {} : { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this.url + pathname, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await response.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = { raw: text };
    }
    if (!response.ok && !allowError) {
      throw new Error(`${method} ${pathname}: HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
    return allowError ? { status: response.status, body: json } : json;
  }

  // SIGTERM, then SIGKILL after timeoutMs. Returns {code, signal, killed}: a daemon that
  // stops as it should exits with code 0 (ASan/LSan findings make that non-zero).
  async stop({ timeoutMs = 5000 } = {}) {
    if (!this.child) return null;
    if (!this.exit) {
      this.child.kill('SIGTERM');
      const timer = sleep(timeoutMs).then(() => null);
      const ended = await Promise.race([this.exited, timer]);
      if (!ended) {
        this.child.kill('SIGKILL');
        await this.exited;
        this.exit.killed = true;
      }
    }
    return this.exit;
  }

  // Keeps the daemon's log among the artifacts and removes the temporary directory.
  cleanup() {
    try {
      fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
      fs.copyFileSync(this.logPath, path.join(ARTIFACTS_DIR, `daemon-${this.name}.log`));
    } catch { /* no log to keep */ }
    fs.rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/install-deps.sh --test`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60000 });
}

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1280, height: 800 } };

// One daemon and one browser for a test file. Pages come from fresh browser contexts
// (own cache, storage and service workers), so every test sees a first visit.
export class Session {
  // options: name (the daemon's log is kept as daemon-<name>.log) and overrides (config
  // sections merged into the demo's).
  static async start(options = {}) {
    const session = new Session();
    try {
      session.daemon = await Daemon.start(options);
      session.browser = await launchBrowser();
    } catch (err) {
      await session.close().catch(() => {});
      throw err;
    }
    return session;
  }

  constructor() {
    this.daemon = null;
    this.browser = null;
    this.contexts = [];
  }

  get url() {
    return this.daemon.url;
  }

  api(pathname, options) {
    return this.daemon.api(pathname, options);
  }

  // A new page in a new context. page.errors collects uncaught exceptions of the page;
  // initScript runs in the page before any of the page's own scripts.
  async newPage(contextOptions = DESKTOP, { initScript } = {}) {
    const context = await this.browser.newContext({ ...contextOptions, baseURL: this.url });
    this.contexts.push(context);
    context.setDefaultTimeout(15000);
    if (initScript) await context.addInitScript(initScript);
    const page = await context.newPage();
    page.errors = [];
    page.on('pageerror', (err) => page.errors.push(err.message));
    return page;
  }

  // Logs the page in through the dashboard's login panel, as a person would.
  async login(page) {
    const button = page.locator('[data-testid="login-open"]');
    const panel = page.locator('[data-testid="login"]');
    await Promise.race([button.waitFor({ state: 'visible' }), panel.waitFor({ state: 'visible' })]);
    if (!(await panel.isVisible())) await button.click();
    await page.locator('[data-testid="login-password"]').fill(this.daemon.password);
    await page.locator('[data-testid="login-submit"]').click();
    await page.locator('[data-testid="logout"]').waitFor({ state: 'visible' });
    await panel.waitFor({ state: 'detached' });
  }

  // Closes the pages opened so far (and their connections: an open dashboard holds its event
  // stream and keep-alive connections, and the daemon limits connections per address).
  async closePages() {
    const contexts = this.contexts.splice(0);
    for (const context of contexts) await context.close().catch(() => {});
  }

  // Closes the browser and stops the daemon. Returns the daemon's exit ({code, signal})
  // with the end of its log (log), or null when no daemon had started.
  async close() {
    let exit = null;
    try {
      await this.closePages();
      // A browser that does not close in time is killed by playwright when we exit.
      if (this.browser) await Promise.race([this.browser.close(), sleep(10000)]);
    } finally {
      this.browser = null;
      if (this.daemon) {
        exit = await this.daemon.stop();
        if (exit) exit.log = this.daemon.logTail();
        this.daemon.cleanup();
      }
    }
    return exit;
  }
}

export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

// Waits for the element with data-testid=id (state: 'visible', 'attached', 'hidden').
export async function waitForTestId(page, id, { state = 'visible', timeout = 15000 } = {}) {
  const locator = byTestId(page, id);
  await locator.first().waitFor({ state, timeout });
  return locator.first();
}

// Loads the dashboard if the page is elsewhere, then goes to a view the way a person
// does: by its navigation entry. Returns the view's root element.
export async function openView(page, view) {
  if (!page.url().startsWith('http')) await page.goto('/');
  await byTestId(page, `nav-${view}`).first().click();
  return waitForTestId(page, `view-${view}`);
}

// A full-page screenshot saved as <artifacts>/browser/<name>.png; returns the path.
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// The number of watts shown in a text such as "412 W", "-1.234 W", "1 234 W" or "−120 W"
// (a thousands separator of either locale, a minus sign or hyphen); null if there is none.
export function parseWatts(text) {
  const match = /^\s*([-−]?)\s*(\d[\d.,\s\u00a0\u202f]*)\s*W\s*$/.exec(text ?? '');
  if (!match) return null;
  let digits = match[2].replace(/[\s\u00a0\u202f]/g, '');
  if (/^\d{1,3}([.,]\d{3})+$/.test(digits)) digits = digits.replace(/[.,]/g, '');
  else digits = digits.replace(',', '.');
  const value = Number(digits);
  if (!Number.isFinite(value)) return null;
  return match[1] ? -value : value;
}
