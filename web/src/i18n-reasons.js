// A load's reason (GET /api/v1/loads, src/loads/load_logic.c) in the page's language. The
// loads module writes English sentences from a fixed set; each is matched here and its
// values kept. tools/check-strings.mjs reads load_logic.c and fails for a sentence this
// table does not match, so a new or reworded reason cannot stay English on German pages.
export const LOAD_REASONS = [
  [/^waits for meter readings$/, 'noMeter'],
  [/^solar surplus (?<w>-?[\d.]+) W$/, 'surplus'],
  [/^surplus down to (?<w>-?[\d.]+) W$/, 'surplusDown'],
  [/^surplus (?<w>-?[\d.]+) W, waiting a minute$/, 'surplusWait'],
  [/^not enough surplus \((?<w>-?[\d.]+) W\)$/, 'notEnough'],
  [/^the battery charges first$/, 'batteryFirst'],
  [/^waits until (?<time>.+)$/, 'waitsUntil'],
  [/^done for today$/, 'done'],
  [/^running until done$/, 'running'],
  [/^must finish by (?<time>.+)$/, 'mustFinish'],
  [/^cheapest window, from (?<time>.+) at (?<price>[\d.]+) per kWh$/, 'cheapestNow'],
  [/^cheapest window starts (?<time>.+) at (?<price>[\d.]+) per kWh$/, 'cheapestLater'],
  [/^manual: switched only by hand$/, 'manual'],
  [/^on by hand until (?<time>.+)$/, 'onByHand'],
  [/^off by hand until (?<time>.+)$/, 'offByHand'],
  [/^stays on for at least (?<min>[\d.]+) min$/, 'staysOn'],
  [/^stays off for at least (?<min>[\d.]+) min$/, 'staysOff'],
  [/^the plug is offline$/, 'plugOffline'],
];

// The notification rules' English titles and messages (src/notify/rules.c, notify.c), as
// the C formats they are written with: i18n.js's notificationText matches a notification's
// title and message against its rule's formats and shows the rule's notes.title and notes.msg
// texts with the values ({1}, {2}, … in order). check-strings.mjs reads the C
// sources and fails for a format missing here.
export const NOTE_FORMATS = {
  negative_price: ['Negative electricity price ahead',
    'The price drops to %.4f %s/kWh at %s: a good time to charge and to run loads.'],
  price_spike: ['Price spike ahead', 'The price rises to %.4f %s/kWh at %s (%.1f× the median of the next 24 h).'],
  cheap_window: ['Cheap electricity now', 'The price is %.4f %s/kWh, in the cheapest quarter of the next 24 h.'],
  provider_failing: ['Provider %s failing', 'Provider %s has failed for %.0f min: %s'],
  daily_summary: ['BalkonSolar: today',
    'Solar %.2f kWh, home %.2f kWh, grid import %.2f kWh, export %.2f kWh (self-sufficiency %.0f%%). %s'],
  battery_not_charging: ['Battery not charging',
    '%.0f W of solar go to the grid while the battery is at %.0f%% and does not charge.'],
  battery_empty: ['Battery empty', 'The battery is at %.0f%% (the lower limit is %.0f%%).'],
  battery_full: ['Battery full', 'The battery is at %.0f%% (the upper limit is %.0f%%).'],
  export_cap: ['Inverter at its AC limit', 'The inverter delivers %.0f W, at its limit of %.0f W: more solar is cut off.'],
  optimizer_fallback: ['Planner fell back to self-consumption',
    'The strategy \\"%s\\" could not make a plan; the battery follows plain self-consumption.'],
  device_offline: ['Device %s offline', 'Device %s is offline: %s'],
  meter_stale: ['Meter data stale', 'No meter reading for more than %.0f s: the control is in failsafe.'],
  storage_failing: ['Cannot store measurements',
    'The database cannot be written: %s. Control goes on; measurements wait in memory until there is room again (free space on the disk or SD card).'],
  test: ['BalkonSolar test message', 'This is a test of the notification channel \\"%s\\" (%s).'],
  // The title is the appliance's name (the owner's words); the message one of the recommend
  // module's sentences (src/recommend/recommend.c, RECOMMEND_C_FORMATS), each variant with
  // its own text.
  recommendation: [null, [
    ['The %s (%.0f min) does not fit before %s.', 'noFit'],
    ['No plan covers a run of the %s before %s yet.', 'noData'],
    ['Start the %s now: no cheaper time before %s.', 'startNow'],
    ['Start the %s at %s: no cheaper time before %s.', 'startAt'],
    ['Start the %s at %s (done by %s): %.2f %s cheaper than starting now.', 'laterThanNow'],
    ['Start the %s at %s (done by %s): %.2f %s cheaper than at %s.', 'laterThanFirst'],
    ['Start the %s at %s (done by %s): the cheapest time before %s.', 'cheapest'],
  ]],
};
// The formats of recommend.c the variants above are written out from ("%s%s" is "now" or
// "at HH:MM"); check-strings.mjs fails when recommend.c writes another.
export const RECOMMEND_C_FORMATS = [
  'The %s (%.0f min) does not fit before %s.',
  'No plan covers a run of the %s before %s yet.',
  'Start the %s %s%s: no cheaper time before %s.',
  'Start the %s at %s (done by %s): %.2f %s cheaper than %s%s.',
  'Start the %s at %s (done by %s): the cheapest time before %s.',
];

// A C format as a regular expression with one group per conversion.
export function formatRegex(format) {
  const parts = format.replace(/\\"/g, '"').split(/(%%|%s|%\.\d+[fs]|%\.0f|%d)/);
  return new RegExp(`^${parts.map((p, i) => {
    if (i % 2 === 0) return p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (p === '%%') return '%';
    if (p === '%s' || /s$/.test(p)) return '(.+?)';
    return '(-?[\\d.]+|nan|inf)';
  }).join('')}$`, 's');
}
