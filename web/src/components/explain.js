// Decisions explained: the planner's and the control's reason codes (src/planner/reasons.c,
// GET /api/v1/plan "reason" and "now.next", GET /api/v1/control "reason") as one sentence in
// the page's language, and "what's next" from the plan. One vocabulary for the battery's
// states: the plan's modes, read as state.<mode> ("charging from solar", "resting", …).
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { fmtDateTime, fmtTime, pricePerKwh, parseTime } from '../fmt.js';

// What the control knows first-hand (the meter is quiet, the battery is off line) beats the
// plan; the plan's intent beats the control's measured state when it says more ("until
// 18:00, when it is dearer"); else the control's measured state; else the plan's.
const CONTROL_OVERRIDES = new Set(['failsafe', 'battery_offline', 'control_off', 'no_battery']);
const PLAN_SPECIFIC = new Set(['waiting_for_cheaper_hour', 'waiting_for_grid_charge', 'saving_for_dearer_hour', 'grid_charging_cheap']);
const CONTROL_MEASURED = new Set(['at_soc_min', 'at_soc_max', 'export_cap', 'storing_surplus', 'covering_load']);

// The battery's state a reason stands for: the one vocabulary of Live, Plan and the control
// card (the optimizer's mode names say how a slot is run, not what the battery does: its
// "discharge" also stores a surplus the forecast missed).
const STATE_OF = {
  storing_surplus: 'charging', grid_charging_cheap: 'grid_charging', covering_load: 'discharging',
  at_soc_min: 'resting', at_soc_max: 'resting', exporting_surplus: 'resting', nothing_to_do: 'resting', control_off: 'resting', no_battery: 'resting',
  waiting_for_cheaper_hour: 'holding', waiting_for_grid_charge: 'holding', saving_for_dearer_hour: 'holding', holding_for_plan: 'holding',
  failsafe: 'failsafe', battery_offline: 'offline', export_cap: 'limiting',
};
const STATE_OF_MODE = { charge: 'charging', grid_charge: 'grid_charging', discharge: 'discharging', hold: 'holding', idle: 'resting' };
export const batteryState = (reason, mode) => reason?.state || STATE_OF[reason?.code] || STATE_OF_MODE[mode] || 'resting';
export const STATES = ['charging', 'grid_charging', 'discharging', 'holding', 'resting'];

// A reason object ({code, ts_ms?, price_per_kwh?, since?}) as a sentence.
export function reasonText(reason, currency = 'EUR') {
  if (!reason?.code) return t('why.unknown');
  const ts = reason.ts_ms ?? null;
  const since = reason.since_ts_ms ?? parseTime(reason.since);
  return tOr(`why.${reason.code}`, reason.code)
    .replace('{price}', reason.price_per_kwh == null ? '–' : pricePerKwh(reason.price_per_kwh, currency))
    .replace('{time}', ts == null ? '–' : fmtTime(ts))
    .replace('{since}', since == null ? '–' : fmtTime(since));
}

// The reason to show now: the control's when it measured something the plan cannot know,
// else the plan's slot in force, else whatever there is.
export function reasonNow(plan, control) {
  const planReason = plan?.now?.reason || null;
  const ctl = control?.reason || null;
  const from = (r, source) => ({ ...r, source });
  if (ctl && CONTROL_OVERRIDES.has(ctl.code)) return from(ctl, 'control');
  if (planReason && PLAN_SPECIFIC.has(planReason.code)) return from(planReason, 'plan');
  if (ctl && CONTROL_MEASURED.has(ctl.code)) return from(ctl, 'control');
  if (planReason) return from(planReason, 'plan');
  return ctl ? from(ctl, 'control') : null;
}

// "What's next": the plan's next change of mode with its time and price.
export function nextText(plan, currency = 'EUR') {
  const next = plan?.now?.next;
  if (next === undefined || !plan?.ts?.length) return '';
  if (!next) return t('next.none', { time: fmtDateTime(plan.ts[plan.ts.length - 1] + (plan.slot_s || 900) * 1000) });
  return t('next.at', { time: fmtTime(next.ts_ms ?? parseTime(next.slot)), mode: t(`bstate.${batteryState(next.reason, next.mode)}`),
    price: pricePerKwh(next.price_per_kwh, currency) });
}

export function WhyCard({ plan, control, currency }) {
  const reason = reasonNow(plan, control);
  const next = nextText(plan, currency);
  return html`<div class="why" data-testid="why">
    <p class="why-now" data-testid="why-sentence" data-reason=${reason?.code || ''} data-source=${reason?.source || ''}>${reasonText(reason, currency)}</p>
    ${next && html`<p class="why-next hint" data-testid="why-next"><strong>${t('why.next')}:</strong> ${next}</p>`}
  </div>`;
}
