// Every user-visible string, in English and German. t('key', {name: value}) fills {name}.
// The language comes from the stored choice, else navigator.language; lang-toggle switches.
import { dict } from './strings.js';
import { LOAD_REASONS, NOTE_FORMATS, formatRegex } from './i18n-reasons.js';

const KEY = 'balkon.lang';
let current = pick();
const listeners = new Set();

function pick() {
  let stored = null;
  try {
    stored = localStorage.getItem(KEY);
  } catch {
    /* storage blocked: no memory */
  }
  if (stored === 'de' || stored === 'en') return stored;
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of langs) {
    const base = String(l).slice(0, 2).toLowerCase();
    if (base === 'de' || base === 'en') return base;
  }
  return 'en';
}

export const lang = () => current;
export function setLang(l) {
  current = l === 'de' ? 'de' : 'en';
  try {
    localStorage.setItem(KEY, current);
  } catch {
    /* not remembered */
  }
  document.documentElement.lang = current;
  for (const fn of listeners) fn(current);
}
export const onLang = (fn) => listeners.add(fn);

export function t(key, vars) {
  let s = dict[current][key] ?? dict.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}
// A string that may be missing (e.g. a label for an unknown value): the fallback instead.
export const tOr = (key, fallback) => dict[current][key] ?? dict.en[key] ?? fallback;

// A server error in the page's language: its code (with params) when the dictionary has it,
// else the server's English text. English pages keep the server's own text, which names the
// field and the problem more exactly than the codes' generic sentences (docs/api.md, "Errors").
export function errorText(body) {
  if (!body) return '';
  const params = body.params || {};
  let key = `err.${body.code}`;
  if (body.code === 'unknown_key' && params.suggestion) key = 'err.unknown_key_suggest';
  if (current === 'en' || !body.code || !(key in dict[current])) return body.error || body.message || '';
  return t(key, params);
}

// Texts the server sends in English, in the page's language by what they describe; an unknown
// one (a new strategy, a real device's model name) stays as the server wrote it. (The payback
// note is the savings view's paybackNote.)
export const strategyDescription = (name, fallback) => tOr(`strategy.desc.${name}`, fallback || '');
export const deviceModel = (model) => (model ? tOr(`model.${model}`, model) : model);

// A load's reason (GET /api/v1/loads) in the page's language (i18n-reasons.js).
export function loadReason(text) {
  if (!text) return text;
  for (const [re, key] of LOAD_REASONS) {
    const m = re.exec(text);
    if (m) return t(`loads.why.${key}`, m.groups);
  }
  return text;
}

// A notification's title and message in the page's language (GET /api/v1/notifications): by
// its rule's formats (i18n-reasons.js), the values kept; "Resolved: …" and "… is over." of a
// resolved alert around its title. Unknown ones stay as sent.
function noteTitle(rule, title) {
  const resolved = /^Resolved: (.+)$/s.exec(title);
  if (resolved) return t('notes.resolvedTitle', { title: noteTitle(rule, resolved[1]) });
  const formats = NOTE_FORMATS[rule];
  const m = formats?.[0] && formatRegex(formats[0]).exec(title);
  return m ? t(`notes.title.${rule}`, Object.fromEntries(m.slice(1).map((v, i) => [String(i + 1), v]))) : title;
}
export function notificationText({ rule, title, message }) {
  if (current === 'en' || !rule) return { title, message };
  const over = /^(.+) is over\.$/s.exec(message || '');
  if (over) return { title: noteTitle(rule, title), message: t('notes.over', { title: noteTitle(rule, over[1]) }) };
  // One message format (the key notes.msg.<rule>) or several variants (notes.msg.<rule>.<v>).
  const formats = NOTE_FORMATS[rule];
  const variants = !formats ? [] : Array.isArray(formats[1]) ? formats[1].map(([f, v]) => [f, `notes.msg.${rule}.${v}`]) : [[formats[1], `notes.msg.${rule}`]];
  for (const [format, key] of variants) {
    const m = message && formatRegex(format).exec(message);
    // The values' positions count from 1 in the dictionary: {1} is the first.
    // {name} is the title as written (a recommendation's appliance, as its owner named it).
    if (m) return { title: noteTitle(rule, title), message: t(key, { name: title, ...Object.fromEntries(m.slice(1).map((v, i) => [String(i + 1), v])) }) };
  }
  return { title: noteTitle(rule, title), message };
}

// A device reading's label (GET /api/v1/devices, values): value.<name>, a phase's reading
// ("power_l2_w") as its reading's label with the phase. check-strings.mjs finds the names the
// drivers report (src/devices) and fails for one without a label.
export function valueLabel(name) {
  const phase = /^(.+)_l(\d)_([a-z]+)$/.exec(name);
  if (phase) return t('value.phase', { what: tOr(`value.${phase[1]}_${phase[3]}`, name), n: phase[2] });
  return tOr(`value.${name}`, name);
}
