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
