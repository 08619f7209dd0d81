// Checks the dictionary (src/strings.js): every key used literally in t('…') exists in both
// languages, and both languages have the same keys; every error code the server sends
// (src/http, src/util/config_errors.c) has its err.<code> text in both; no German text is an
// untranslated copy of the English phrase; no view writes visible words outside t(). Run by
// scripts/build-web.sh.
import { readFileSync, readdirSync } from 'node:fs';
import { dict } from '../src/strings.js';
import { SECTIONS, ZONE_FIELDS } from '../src/settings-schema.js';
import { LOAD_REASONS, NOTE_FORMATS, RECOMMEND_C_FORMATS } from '../src/i18n-reasons.js';

const dir = new URL('../src/', import.meta.url).pathname;
const sources = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js') && f !== 'i18n.js');
const problems = [];
for (const f of sources) {
  const text = readFileSync(dir + f, 'utf8');
  for (const [, key] of text.matchAll(/\bt\('([^'$]+)'/g)) {
    for (const l of ['en', 'de']) if (!(key in dict[l])) problems.push(`${f}: "${key}" missing in ${l}`);
  }
}
// Keys made at run time: views, settings sections, field labels, list items.
const made = ['live', 'plan', 'history', 'savings', 'devices', 'notifications', 'settings'].flatMap((v) => [`nav.${v}`, `nav.short.${v}`]);
const labels = (base, fields) => fields.forEach(([k]) => made.push(`f.${base}.${k}`));
// A list's fields: common (or fields), after, and those of each type.
const listFields = (l) => [...(l.common || l.fields || []), ...(l.after || []), ...Object.values(l.typed || {}).flat()];
for (const sec of SECTIONS) {
  made.push(`settings.section.${sec.id}`);
  if (sec.fields) labels((sec.base || `${sec.id}.`).replace(/\.$/, ''), sec.fields);
  for (const l of sec.lists || []) {
    made.push(`f.${sec.id}.${l.key}`, `settings.item.${l.item}`);
    labels(`${sec.id}.${l.key}`, listFields(l));
  }
  if (sec.list) {
    const l = sec.list;
    made.push(`f.${l.key}`, `settings.item.${l.item}`);
    labels(l.key, listFields(l));
  }
}
made.push('nav.setup');
made.push('f.providers.zones', 'settings.item.zone');
labels('providers.zones', ZONE_FIELDS);
for (const key of new Set(made)) for (const l of ['en', 'de']) if (!(key in dict[l])) problems.push(`"${key}" (made at run time) missing in ${l}`);
for (const [a, b] of [['en', 'de'], ['de', 'en']]) {
  for (const key of Object.keys(dict[a])) if (!(key in dict[b])) problems.push(`"${key}" is in ${a} but not in ${b}`);
}
// The server's error codes: http_reply_error_code(…, "code", …), reply_field_error(…, "code",
// …), the status codes of router.c's status_code() and the loader's classifications.
const serverDir = new URL('../../src/', import.meta.url).pathname;
const codes = new Set();
const serverFiles = readdirSync(serverDir + 'http').filter((f) => f.endsWith('.c')).map((f) => `http/${f}`);
serverFiles.push('util/config_errors.c');
for (const f of serverFiles) {
  const text = readFileSync(serverDir + f, 'utf8');
  for (const [, code] of text.matchAll(/http_reply_error_code\(\s*[^,]+,\s*\d+,\s*"([a-z_]+)"/g)) codes.add(code);
  for (const [, code] of text.matchAll(/reply_field_error\(\s*response,\s*\d+,\s*"([a-z_]+)"/g)) codes.add(code);
  for (const [, code] of text.matchAll(/out->code = "([a-z_]+)"/g)) codes.add(code);
  // Codes a check chooses for its caller (geocode.c: *code = "too_short").
  for (const [, code] of text.matchAll(/\*code = "([a-z_]+)"/g)) codes.add(code);
  if (f === 'http/router.c') {
    const body = text.slice(text.indexOf('static const char *status_code('), text.indexOf('static void reply_error_v('));
    for (const [, code] of body.matchAll(/return "([a-z_]+)"/g)) codes.add(code);
  }
  // The 401's three codes, chosen by what the client sent (auth.c).
  for (const m of text.matchAll(/sent_token\s*\?\s*"([a-z_]+)"\s*:\s*sent_cookie\s*\?\s*"([a-z_]+)"\s*:\s*"([a-z_]+)"/g)) m.slice(1).forEach((c) => codes.add(c));
}
// Chosen at run time in C: the config summary, the password's problem, a device's refusal.
for (const c of ['config_invalid', 'password_too_short', 'password_too_long', 'device_refused']) codes.add(c);
if (codes.size < 30) problems.push(`only ${codes.size} server error codes found in src/: has the code's form changed?`);
for (const code of codes) for (const l of ['en', 'de']) if (!(`err.${code}` in dict[l])) problems.push(`server error code "${code}": err.${code} missing in ${l}`);
// A German text equal to the English one is a copy nobody translated, unless it is one word
// both languages share (Live, Plan, Name, Optimal).
for (const key of Object.keys(dict.en)) {
  if (dict.de[key] === dict.en[key] && (dict.en[key].match(/[A-Za-z]{3,}/g) || []).length >= 2) problems.push(`"${key}": the German text is the English "${dict.en[key]}"`);
}
// Words written straight into a template's markup (>Some words<) bypass the dictionary.
for (const f of sources) {
  const text = readFileSync(dir + f, 'utf8');
  for (const [, node] of text.matchAll(/>([^<>`]*?)</g)) {
    const words = node.replace(/\$\{[^}]*\}/g, ' ').match(/[A-Za-zÄÖÜäöüß]{3,}/g) || [];
    if (words.length >= 2 && !/=>|[(){};]/.test(node)) problems.push(`${f}: visible text "${node.trim()}" is not from t()`);
  }
}
// Every reason the loads module writes is matched by LOAD_REASONS (src/i18n-reasons.js): the
// formats of decide(out, on, "fmt", arg) ("%s" takes arg) and of the min-time sentence,
// filled with sample values.
const logic = readFileSync(serverDir + 'loads/load_logic.c', 'utf8');
const formats = [];
for (const [call] of logic.matchAll(/decide\(out,[^;]*;/g)) {
  const strings = [...call.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  if (strings[0] === '%s') formats.push(...strings.slice(1));
  else formats.push(...strings);
}
const staysFormat = logic.match(/sizeof out->reason, "([^"]+)",\s*s->on \? "([^"]+)" : "([^"]+)"/);
const reasons = formats.map((f) => {
  // The cheapest window's %s is "HH:MM at PRICE per kWh" (made by its own snprintf).
  if (f.startsWith('cheapest window')) return f.replace('%s', '12:30 at 0.251 per kWh');
  // A %s before " W" or "W)" is a power; any other a time.
  return f.replace(/%s( ?W)/g, '250$1').replace(/%\.0f/g, '10').replace(/%s/g, '12:30');
});
if (staysFormat) reasons.push(...[staysFormat[2], staysFormat[3]].map((w) => staysFormat[1].replace('%s', w).replace('%.0f', '10')));
reasons.push('the plug is offline'); // loads.c
if (reasons.length < 12) problems.push(`only ${reasons.length} load reasons found in src/loads/load_logic.c: has its form changed?`);
for (const text of reasons) {
  if (!LOAD_REASONS.some(([re]) => re.test(text))) problems.push(`load reason "${text}" (src/loads/load_logic.c) is not matched by src/i18n-reasons.js`);
}
// Every notification rule's title and message format (src/notify/rules.c: notify_raise(n,
// rule, subject, severity, resolve, title, format, ...) and notify_once(n, rule, subject,
// severity, title, format, ...); a title made by snprintf(title, …) first) is in
// NOTE_FORMATS (src/i18n-reasons.js) with notes.title.<rule> and notes.msg.<rule>.
function cArgs(text, start) {
  const args = [];
  let cur = '', depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let e = i + 1;
      while (text[e] !== '"') e += text[e] === '\\' ? 2 : 1;
      cur += text.slice(i, e + 1);
      i = e;
    } else if (c === '(') { depth++; cur += c; }
    else if (c === ')') {
      if (depth === 0) { args.push(cur.trim()); return args; }
      depth--; cur += c;
    } else if (c === ',' && depth === 0) { args.push(cur.trim()); cur = ''; }
    else cur += c;
  }
  return args;
}
const literal = (arg) => (/^("(?:[^"\\]|\\.)*"\s*)+$/.test(arg) ? [...arg.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join('') : null);
const rulesC = readFileSync(serverDir + 'notify/rules.c', 'utf8');
let noteCalls = 0;
for (const m of rulesC.matchAll(/notify_(raise|once)\(/g)) {
  const args = cArgs(rulesC, m.index + m[0].length);
  const rule = literal(args[1]);
  const [titleArg, formatArg] = m[1] === 'raise' ? [args[5], args[6]] : [args[4], args[5]];
  let title = literal(titleArg);
  const format = literal(formatArg);
  if (rule === 'recommendation') continue; // its sentences are recommend.c's, checked below
  noteCalls++;
  if (!title) {
    const made = rulesC.slice(0, m.index).match(/snprintf\(title, sizeof title, "([^"]+)"[^;]*;[^;]*$/);
    title = made ? made[1] : null;
  }
  const known = NOTE_FORMATS[rule];
  if (!known) { problems.push(`notification rule "${rule}" (src/notify/rules.c) is not in NOTE_FORMATS`); continue; }
  if (title !== known[0]) problems.push(`notification "${rule}": title "${title}" differs from NOTE_FORMATS' "${known[0]}"`);
  if (format !== known[1]) problems.push(`notification "${rule}": message "${format}" differs from NOTE_FORMATS' "${known[1]}"`);
}
// The test message and the resolved alert's wording (src/notify/notify.c).
const notifyC = readFileSync(serverDir + 'notify/notify.c', 'utf8');
for (const text of [`"${NOTE_FORMATS.test[0]}"`, `"${NOTE_FORMATS.test[1]}"`, '"Resolved: %.110s"', '"%s is over."']) {
  if (!notifyC.includes(text)) problems.push(`src/notify/notify.c no longer writes ${text} (i18n.js notificationText)`);
}
if (noteCalls < 12) problems.push(`only ${noteCalls} notification rules found in src/notify/rules.c: has its form changed?`);
for (const [rule, [title, message]] of Object.entries(NOTE_FORMATS)) {
  const keys = Array.isArray(message) ? message.map(([, v]) => `notes.msg.${rule}.${v}`) : [`notes.msg.${rule}`];
  if (title) keys.push(`notes.title.${rule}`);
  for (const k of keys) for (const l of ['en', 'de']) if (!(k in dict[l])) problems.push(`"${k}" missing in ${l}`);
}
// The recommendation sentences: recommend.c's formats are the ones the variants are written from.
const recommendC = readFileSync(serverDir + 'recommend/recommend.c', 'utf8');
const sentenceFormats = [...recommendC.matchAll(/out->sentence, sizeof out->sentence,\s*"([^"]+)"/g)].map((m) => m[1]);
if (sentenceFormats.length < 4) problems.push('recommend.c: its sentence formats were not found: has its form changed?');
for (const f of sentenceFormats) if (!RECOMMEND_C_FORMATS.includes(f)) problems.push(`recommend.c writes "${f}", not in RECOMMEND_C_FORMATS (src/i18n-reasons.js)`);
// Every reading a driver reports (src/devices: add_value / dev_state_add(state, "name", …),
// add_number(state, json, "key", "name"…), per-phase names made with snprintf(name, …)) has
// its value.<name> label in both languages.
const devicesDir = serverDir + 'devices/';
const valueNames = new Set();
for (const f of readdirSync(devicesDir).filter((x) => x.endsWith('.c'))) {
  const text = readFileSync(devicesDir + f, 'utf8');
  for (const [, n] of text.matchAll(/(?:add_value|dev_state_add)\(\s*[^,]+,\s*"([a-z0-9_]+)"/g)) valueNames.add(n);
  for (const [, n] of text.matchAll(/add_number\([^;]*?"[^"]*",\s*"([a-z0-9_]+)"/g)) valueNames.add(n);
  for (const [, base, unit] of text.matchAll(/snprintf\(name, sizeof name, "([a-z0-9_]+)_l%d_([a-z]+)"/g)) valueNames.add(`${base}_${unit}`);
}
if (valueNames.size < 15) problems.push(`only ${valueNames.size} device readings found in src/devices: has the drivers' form changed?`);
for (const n of valueNames) for (const l of ['en', 'de']) if (!(`value.${n}` in dict[l])) problems.push(`device reading "${n}" (src/devices): value.${n} missing in ${l}`);
if (problems.length) {
  console.error(`strings: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`strings: ${Object.keys(dict.en).length} keys in en and de`);
