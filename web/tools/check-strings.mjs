// Checks the dictionary (src/strings.js): every key used literally in t('…') exists in both
// languages, and both languages have the same keys. Run by scripts/build-web.sh.
import { readFileSync, readdirSync } from 'node:fs';
import { dict } from '../src/strings.js';
import { SECTIONS, ZONE_FIELDS } from '../src/settings-schema.js';

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
if (problems.length) {
  console.error(`strings: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`strings: ${Object.keys(dict.en).length} keys in en and de`);
