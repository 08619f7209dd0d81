// The service worker: keeps the app shell and the last answer of each API resource, so the
// installed app opens without the daemon and shows the last known state. Everything is
// network first (the daemon is on the LAN and answers fast; a stale dashboard after an
// upgrade would be worse than a slow one); the cache answers only when the network fails or
// takes longer than TIMEOUT_MS. Cached API answers carry X-Balkon-Cache: 1, which the app
// shows as the offline banner. The event stream is never touched.
//
// scripts/build-web.sh writes web/sw.js from this file, filling in the version (a hash of the
// bundle, so a new bundle installs a new worker) and the list of shell files.
const VERSION = '__VERSION__';
const SHELL = __SHELL__;
const SHELL_CACHE = `balkon-shell-${VERSION}`;
const API_CACHE = 'balkon-api-v1';
const TIMEOUT_MS = 5000;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('balkon-shell-') && k !== SHELL_CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// One cache entry per resource and parameters other than the time range: the newest answer
// for "pv_w in 5-minute steps" replaces the one before, so the cache stays small.
function apiKey(url) {
  const params = [...url.searchParams].filter(([k]) => k !== 'from' && k !== 'to').sort();
  return `${url.origin}${url.pathname}?${new URLSearchParams(params)}`;
}

function withTimeout(promise) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), TIMEOUT_MS);
    promise.then((r) => { clearTimeout(timer); resolve(r); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

async function fromCache(cacheName, key, mark) {
  const hit = await (await caches.open(cacheName)).match(key, { ignoreVary: true });
  if (!hit || !mark) return hit;
  const headers = new Headers(hit.headers);
  headers.set('X-Balkon-Cache', '1');
  return new Response(hit.body, { status: hit.status, statusText: hit.statusText, headers });
}

async function api(request, url) {
  const key = apiKey(url);
  const network = fetch(request);
  try {
    const response = await withTimeout(network);
    if (response.ok) {
      const copy = response.clone();
      caches.open(API_CACHE).then((c) => c.put(key, copy));
    }
    return response;
  } catch (e) {
    const cached = await fromCache(API_CACHE, key, true);
    if (cached) return cached;
    return network; // nothing cached: wait for the network's own answer or error
  }
}

async function shell(request, url) {
  const network = fetch(request);
  try {
    const response = await withTimeout(network);
    if (response.ok && SHELL.includes(url.pathname)) {
      const copy = response.clone();
      caches.open(SHELL_CACHE).then((c) => c.put(url.pathname, copy));
    }
    return response;
  } catch (e) {
    const key = request.mode === 'navigate' ? '/' : url.pathname;
    const cached = await fromCache(SHELL_CACHE, key, false);
    if (cached) return cached;
    return network;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname === '/api/v1/events') return;
  // Who is logged in (and the session's CSRF token) must come fresh from the daemon.
  if (url.pathname.startsWith('/api/v1/auth')) return;
  if (url.pathname.startsWith('/api/')) event.respondWith(api(request, url));
  else event.respondWith(shell(request, url));
});
