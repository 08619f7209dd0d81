// The dashboard's state: one object, filled from REST at start and kept current by the
// server-sent events of GET /api/v1/events (no polling). Events are applied in batches, at
// most once per animation frame, so a burst of events costs one render.
//
// SSE events (docs/api.md, /api/v1/events): status, devices, control, loads, providers carry
// the body of the GET of the same name; plan carries {id, created, strategy} (we refetch
// /plan); command and device_online are single happenings.
import { get, getOptional, query, onCacheAnswer, onUnauthorized, setCsrf } from './api.js';
import { localDate, serverNow, setServerClock, setSiteTz, startOfDay } from './fmt.js';

const state = {
  auth: null, // GET /auth: {password_set, logged_in, via, read_without_login, setup_code_file?}
  loginOpen: false, // the login (or first-password) panel is shown
  config: null,
  health: null,
  status: null,
  statusWallMs: 0, // when the last status arrived (wall clock), for "updated"
  devices: null,
  control: null,
  loads: null,
  plan: undefined, // undefined: not loaded yet; null: no plan yet (404)
  recommendations: null, // GET /recommendations, refetched with every plan
  prices: undefined,
  providers: null,
  today: null, // { day, until_ms, pv_wh, import_wh, export_wh }
  savingsToday: undefined,
  commands: [], // newest first, from the command log and command events
  sse: 'connecting', // 'connecting' | 'open' | 'down'
  fromCache: false,
  error: null,
};

const subscribers = new Set();
export const getState = () => state;
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

let frame = 0;
const pending = [];
// Queues a change; all queued changes are applied and rendered in the next animation frame.
export function update(fn) {
  pending.push(fn);
  if (!frame) frame = requestAnimationFrame(flush);
}
function flush() {
  frame = 0;
  for (const fn of pending.splice(0)) fn(state);
  for (const fn of subscribers) fn(state);
}
const set = (patch) => update((s) => Object.assign(s, patch));

// A request came back 401: the login ran out or is missing; ask for it.
onUnauthorized(() => {
  if (!state.auth) { // not known yet (the daemon was out of reach at start): ask it now
    loadAuth().then(() => set({ loginOpen: true }));
    return;
  }
  update((s) => {
    s.auth = { ...s.auth, logged_in: false, via: 'none' };
    s.loginOpen = true;
  });
});

export async function loadAuth() {
  try {
    const auth = await get('/auth');
    setCsrf(auth.csrf_token);
    set({ auth, loginOpen: !auth.logged_in && !auth.read_without_login });
    return auth;
  } catch {
    return null; // offline: the cached state shows
  }
}
export const openLogin = (open = true) => set({ loginOpen: open });
// After a login: the new session's CSRF token, then everything anew (what failed before it).
export async function loggedIn(csrfToken) {
  setCsrf(csrfToken);
  set({ loginOpen: false, error: null });
  await start();
}

onCacheAnswer((cached) => {
  if (cached !== state.fromCache) set({ fromCache: cached });
});

// Today's energy: integrated from the stored series once, then from each status event.
const MAX_GAP_MS = 10 * 60 * 1000;

function integrate(series, fromMs, untilMs) {
  const out = { pos: 0, neg: 0 };
  if (!series?.ts) return out;
  const stepMs = series.step_s * 1000;
  series.ts.forEach((t, i) => {
    const v = series.avg[i];
    if (v == null) return;
    const span = Math.max(0, Math.min(t + stepMs, untilMs) - Math.max(t, fromMs));
    const wh = (v * span) / 3.6e6;
    if (wh > 0) out.pos += wh;
    else out.neg -= wh;
  });
  return out;
}

let todayLoading = null;
export function loadToday() {
  if (todayLoading) return todayLoading;
  const now = serverNow();
  const from = startOfDay(now);
  const range = query({ from: Math.floor(from / 1000), to: Math.ceil(now / 1000) + 1, step: '5m' });
  const fetchSeries = (name) => getOptional(`/series?name=${name}&${range}`);
  todayLoading = Promise.all([fetchSeries('pv_w'), fetchSeries('grid_w'),
    getOptional(`/savings?${query({ from: Math.floor(from / 1000), group: 'day' })}`).catch(() => null)])
    .then(([pv, grid, savings]) => {
      const p = integrate(pv, from, now), g = integrate(grid, from, now);
      set({ today: { day: localDate(now), until_ms: now, pv_wh: p.pos, import_wh: g.pos, export_wh: g.neg },
        savingsToday: savings });
    })
    .catch((e) => set({ error: e.message }))
    .finally(() => { todayLoading = null; });
  return todayLoading;
}

function addStatusToToday(s, status) {
  const t = status.ts_ms;
  const today = s.today;
  if (!today || !Number.isFinite(t) || t <= today.until_ms) return;
  if (localDate(t) !== today.day || t - today.until_ms > MAX_GAP_MS) {
    loadToday();
    return;
  }
  const hours = (t - today.until_ms) / 3.6e6;
  const grid = status.grid_w ?? 0;
  s.today = { ...today, until_ms: t, pv_wh: today.pv_wh + (status.pv_w ?? 0) * hours,
    import_wh: today.import_wh + Math.max(grid, 0) * hours, export_wh: today.export_wh + Math.max(-grid, 0) * hours };
}

function applyStatus(status) {
  if (!status) return;
  setServerClock(status.ts_ms, state.health?.clock_speed);
  update((s) => {
    addStatusToToday(s, status);
    s.status = status;
    s.statusWallMs = Date.now();
  });
}

export function loadPlan() {
  return getOptional('/plan').then((plan) => set({ plan })).catch((e) => set({ error: e.message }));
}
export function loadRecommendations() {
  return getOptional('/recommendations').then((recommendations) => set({ recommendations })).catch(() => {});
}
export function loadPrices() {
  return getOptional('/prices').then((prices) => set({ prices })).catch(() => set({ prices: null }));
}
export function loadCommands() {
  return get('/commands?limit=20').then((c) => set({ commands: c.commands || [] })).catch(() => {});
}

// The REST snapshot: what the event stream's own snapshot does not carry, plus everything at
// start (so the page shows data even before the stream is open, or without it).
async function loadSnapshot(full) {
  const health = await getOptional('/health').catch(() => null);
  if (health) {
    setServerClock(Date.parse(health.now), health.clock_speed);
    set({ health });
  }
  if (full) {
    const parts = ['status', 'devices', 'control', 'loads', 'providers'].map((name) =>
      getOptional(`/${name}`).then((body) => (name === 'status' ? applyStatus(body) : set({ [name]: body })))
        .catch(() => {}));
    await Promise.all(parts);
  }
  await Promise.all([loadPlan(), loadPrices(), loadToday(), loadRecommendations()]);
}

export async function start() {
  const auth = await loadAuth();
  if (auth && !auth.logged_in && !auth.read_without_login) return; // the login panel shows
  try {
    const config = await get('/config');
    setSiteTz(config?.site?.timezone);
    set({ config });
  } catch (e) {
    set({ error: e.message });
  }
  await loadSnapshot(true);
  connect();
}

export function reloadConfig(config) {
  setSiteTz(config?.site?.timezone);
  set({ config });
}

// The event stream. The browser reconnects by itself after a dropped connection (the server
// sends retry: 3000); a stream that could not start at all (HTTP error) is closed for good by
// the browser, so we retry that ourselves, backing off to 30 s.
let source = null;
let retryMs = 3000;
let retryTimer = 0;
let wasDown = false;

const HANDLERS = {
  status: applyStatus,
  devices: (body) => set({ devices: body }),
  control: (body) => set({ control: body }),
  loads: (body) => set({ loads: body }),
  providers: (body) => set({ providers: body }),
  plan: () => {
    loadPlan();
    loadPrices(); // plans follow new prices
    loadRecommendations(); // recomputed with every plan
    loadToday(); // and every 15 minutes: a good moment to re-sync the day's totals
  },
  command: (c) => update((s) => {
    s.commands = [{ ts: new Date(serverNow()).toISOString(), device: c.device, command: c.command,
      value: c.value, result: c.ok ? 'ok' : c.detail || 'failed' }, ...s.commands].slice(0, 20);
    s.lastCommand = c;
  }),
  device_online: (d) => update((s) => {
    const list = s.devices?.devices;
    if (!list) return;
    s.devices = { ...s.devices, devices: list.map((x) => (x.id === d.device
      ? { ...x, online: d.online, error: d.online ? null : d.detail || x.error } : x)) };
  }),
};

function connect() {
  clearTimeout(retryTimer);
  if (source) source.close();
  source = new EventSource('/api/v1/events');
  source.onopen = () => {
    retryMs = 3000;
    set({ sse: 'open', error: null });
    if (wasDown) {
      wasDown = false;
      loadSnapshot(false); // what the stream's snapshot does not cover
    }
  };
  for (const [name, handler] of Object.entries(HANDLERS)) {
    source.addEventListener(name, (event) => {
      let body;
      try {
        body = JSON.parse(event.data);
      } catch {
        return;
      }
      handler(body);
    });
  }
  source.onerror = () => {
    wasDown = true;
    set({ sse: 'down' });
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      retryTimer = setTimeout(() => {
        loadSnapshot(true).finally(connect);
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    }
  };
}

// Reconnect at once when the network or the tab comes back.
addEventListener('online', () => state.sse !== 'open' && connect());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.sse === 'down') connect();
});
