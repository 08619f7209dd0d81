// The REST client. Answers the service worker served from its cache (daemon unreachable) carry
// the header X-Balkon-Cache; listeners hear about that so the offline banner can show.
import { errorText } from './i18n.js';

const listeners = new Set();
export const onCacheAnswer = (fn) => listeners.add(fn);

// The session's CSRF token (from the login answer or GET /auth), sent with every change; the
// session cookie itself is HttpOnly and never seen here. A 401 tells the listeners that a
// login is needed.
let csrf = null;
export const setCsrf = (token) => { csrf = token || null; };
const unauthorized = new Set();
export const onUnauthorized = (fn) => unauthorized.add(fn);

export class ApiError extends Error {
  constructor(status, body, path) {
    super(errorText(body) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.path = path;
  }
}

// The session's CSRF token anew (another tab logged in again and replaced the cookie).
async function refreshCsrf() {
  const response = await fetch('/api/v1/auth', { headers: { Accept: 'application/json' }, cache: 'no-store' });
  const auth = response.ok ? await response.json() : null;
  csrf = auth?.csrf_token || null;
  return Boolean(csrf);
}

async function request(method, path, body, retried = false) {
  const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) init.headers['X-CSRF-Token'] = csrf;
  const response = await fetch(`/api/v1${path}`, init);
  if (method === 'GET') {
    const cached = response.headers.get('X-Balkon-Cache') === '1';
    for (const fn of listeners) fn(cached);
  }
  let json = null;
  try {
    json = await response.json();
  } catch {
    /* a body that is not JSON: the status says enough */
  }
  if (response.status === 403 && method !== 'GET' && !retried && /^X-CSRF-Token/.test(json?.error || '')
      && await refreshCsrf().catch(() => false)) {
    return request(method, path, body, true);
  }
  if (response.status === 401 && path !== '/auth/login' && path !== '/auth/setup') for (const fn of unauthorized) fn(path);
  if (!response.ok) throw new ApiError(response.status, json, path);
  return json;
}

export const get = (path) => request('GET', path);
export const put = (path, body) => request('PUT', path, body);
export const post = (path, body) => request('POST', path, body);
export const del = (path) => request('DELETE', path);
// GET that answers null for 404 (endpoints that may not exist yet or have nothing yet).
export const getOptional = (path) => get(path).catch((e) => {
  if (e instanceof ApiError && e.status === 404) return null;
  throw e;
});

export const query = (params) =>
  Object.entries(params).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
