// The control card: what the real-time control aims at and does (GET /api/v1/control, also
// the `control` event): the grid target, the grid measured, the setpoint it sent, the battery's
// power, its mode and state, and why (the reason code as a sentence).
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { watts } from '../fmt.js';
import { batteryState, reasonText } from './explain.js';

export function ControlCard({ control, currency }) {
  if (control === undefined) return null;
  const c = control;
  const row = (testid, label, value) => html`<div class="stat"><dt>${label}</dt><dd data-testid=${testid}>${value}</dd></div>`;
  return html`<article class="card control-card" aria-labelledby="h-control" data-testid="control-card">
    <h2 id="h-control">${t('ctl.title')}</h2>
    ${!c ? html`<p class="hint">${t('ctl.none')}</p>` : html`
      <dl class="stats grid2">
        ${row('control-target', t('ctl.target'), watts(c.target_w))}
        ${row('control-measured', t('ctl.measured'), watts(c.grid_w))}
        ${row('control-setpoint', t('ctl.setpoint'), watts(c.setpoint_w))}
        ${row('control-battery', t('ctl.battery'), watts(c.battery_w))}
        ${row('control-mode', t('ctl.mode'), t(`bstate.${batteryState(c.reason, c.mode)}`))}
        ${row('control-state', t('ctl.state'), tOr(`control.${c.state}`, c.state))}
      </dl>
      <p data-testid="control-reason" data-reason=${c.reason?.code || ''}><strong>${t('ctl.reason')}:</strong> ${reasonText(c.reason, currency)}</p>
      <p class="hint">${t('ctl.commands', { n: c.commands_sent ?? 0 })}</p>`}
  </article>`;
}
