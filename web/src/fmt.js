// Formatting and the site's calendar. Every time on the dashboard is shown in the site's time
// zone (config site.timezone), not the browser's, and "now" is the daemon's clock, which runs
// faster than wall time in the demo (health.clock_speed).
import { lang } from './i18n.js';

let siteTz;
export function setSiteTz(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz || undefined });
    siteTz = tz || undefined;
  } catch {
    siteTz = undefined; // unknown zone: the browser's
  }
  dtfCache.clear();
}
export const siteTimeZone = () => siteTz;

// The daemon's clock: a reading (server ms at wall ms) and its speed.
let clockBase = null;
export function setServerClock(serverMs, speed) {
  if (!Number.isFinite(serverMs)) return;
  clockBase = { serverMs, wallMs: Date.now(), speed: speed > 0 ? speed : clockBase?.speed ?? 1 };
}
export function serverNow() {
  if (!clockBase) return Date.now();
  return clockBase.serverMs + (Date.now() - clockBase.wallMs) * clockBase.speed;
}

// English is formatted the British way: 24-hour clock, day before month.
const locale = () => (lang() === 'de' ? 'de-DE' : 'en-GB');
const dtfCache = new Map();
function dtf(key, options) {
  const k = `${lang()}|${key}`;
  let f = dtfCache.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(locale(), { timeZone: siteTz, ...options });
    dtfCache.set(k, f);
  }
  return f;
}
const partsFmt = () => dtf('parts', { hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
  hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short' });

// The wall-clock fields of an instant in the site's zone.
export function localParts(ms) {
  const p = {};
  for (const { type, value } of partsFmt().formatToParts(new Date(ms))) p[type] = value;
  const wd = new Date(Date.UTC(+p.year, +p.month - 1, +p.day)).getUTCDay(); // 0 = Sunday
  return { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour % 24, mi: +p.minute, s: +p.second, wd };
}
// Offset of the site's zone from UTC at an instant, in ms.
function offsetAt(ms) {
  const p = localParts(ms);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(ms / 1000) * 1000;
}
// The instant of a local wall-clock time (DST-safe: the offset is looked up twice).
export function localToMs(y, mo, d, h = 0, mi = 0) {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const first = guess - offsetAt(guess);
  return guess - offsetAt(first);
}
export function startOfDay(ms) {
  const p = localParts(ms);
  return localToMs(p.y, p.mo, p.d);
}
// Local midnights strictly inside (from, to).
export function midnightsBetween(from, to) {
  const out = [];
  let p = localParts(from);
  for (let i = 1; i < 500; i++) {
    const t = localToMs(p.y, p.mo, p.d + i);
    if (t >= to) break;
    if (t > from) out.push(t);
  }
  return out;
}
export const localDate = (ms) => {
  const p = localParts(ms);
  return `${p.y}-${String(p.mo).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
};

export const fmtTime = (ms) => (ms == null ? '–' : dtf('t', { hour: '2-digit', minute: '2-digit' }).format(ms));
export const fmtTimeSec = (ms) =>
  ms == null ? '–' : dtf('ts', { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(ms);
export const fmtDateTime = (ms) =>
  ms == null ? '–' : dtf('dt', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(ms);
export const fmtDayShort = (ms) => dtf('dsh', { weekday: 'short', day: 'numeric' }).format(ms);
export const fmtDay = (ms) => dtf('d', { weekday: 'short', day: 'numeric', month: 'short' }).format(ms);
export const fmtDate = (ms) => dtf('date', { day: 'numeric', month: 'short', year: 'numeric' }).format(ms);
export const fmtMonth = (ms) => dtf('m', { month: 'long', year: 'numeric' }).format(ms);
export const fmtMonthShort = (ms) => dtf('ms', { month: 'short' }).format(ms);
export const parseTime = (iso) => (iso ? Date.parse(iso) : null);

const nfCache = new Map();
function nf(digits, extra = {}) {
  const k = `${lang()}|${digits}|${JSON.stringify(extra)}`;
  let f = nfCache.get(k);
  if (!f) {
    f = new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: extra.min ?? 0,
      useGrouping: extra.group ?? true, ...(extra.currency ? { style: 'currency', currency: extra.currency } : {}) });
    nfCache.set(k, f);
  }
  return f;
}
const ok = (v) => v !== null && v !== undefined && Number.isFinite(+v);
export const num = (v, digits = 0) => (ok(v) ? nf(digits).format(v) : '–');
// Watts without grouping: "412 W", "1234 W" (a balcony plant stays below 10 kW).
export const watts = (v) => (ok(v) ? `${nf(0, { group: false }).format(Math.round(v) || 0)} W` : '– W');
export const pct = (v) => (ok(v) ? `${nf(0, { group: false }).format(Math.round(v) || 0)} %` : '– %');
export const kwh = (wh) => (ok(wh) ? `${nf(wh < 10000 ? 2 : 1, { min: wh < 10000 ? 2 : 1 }).format(wh / 1000)} kWh` : '– kWh');
export function money(v, currency = 'EUR') {
  if (!ok(v)) return '–';
  try {
    return nf(2, { currency, min: 2 }).format(v);
  } catch {
    return `${nf(2, { min: 2 }).format(v)} ${currency}`;
  }
}
// Prices per kWh: cents for the euro, the currency otherwise.
export function pricePerKwh(v, currency = 'EUR') {
  if (!ok(v)) return '–';
  if (currency === 'EUR') return `${nf(1, { min: 1 }).format(v * 100)} ct/kWh`;
  if (currency === 'GBP') return `${nf(1, { min: 1 }).format(v * 100)} p/kWh`;
  return `${nf(3, { min: 2 }).format(v)} ${currency}/kWh`;
}
export function duration(s) {
  if (!ok(s)) return '–';
  s = Math.max(0, Math.round(s));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min`;
  return `${s} s`;
}
export function bytes(n) {
  if (!ok(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${nf(1).format(n / 1024)} KiB`;
  if (n < 1073741824) return `${nf(1).format(n / 1048576)} MiB`;
  return `${nf(2).format(n / 1073741824)} GiB`;
}
// A device value with the unit its name carries (power_w, soc_pct, energy_wh, voltage_v …).
export function valueWithUnit(name, v) {
  if (typeof v !== 'number') return String(v);
  if (/_w$/.test(name)) return watts(v);
  if (/_pct$/.test(name)) return pct(v);
  if (/_wh$/.test(name)) return kwh(v);
  if (/_v$/.test(name)) return `${num(v, 1)} V`;
  if (/_c$/.test(name)) return `${num(v, 1)} °C`;
  if (/_a$/.test(name)) return `${num(v, 2)} A`;
  return num(v, 2);
}
