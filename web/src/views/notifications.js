// Notifications: GET /api/v1/notifications, newest first, each with its severity (info,
// warning, critical: a critical one is marked as such, never looks like information), its
// state (open or resolved, with when) and a filter for the open ones. A 404 (an older
// daemon) reads as "none yet".
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, tOr } from '../i18n.js';
import { getOptional } from '../api.js';
import { fmtDateTime, parseTime } from '../fmt.js';
import { notificationText } from '../i18n.js';

// The rules' English titles and messages in the page's language (i18n.js).
const translateNote = (n) => ({ ...n, ...notificationText(n) });
const translated = (body) => (Array.isArray(body) ? body.map(translateNote)
  : Array.isArray(body?.notifications) ? { ...body, notifications: body.notifications.map(translateNote) } : body);

const SEVERITIES = ['critical', 'warning', 'info'];

export function normalise(body) {
  const list = Array.isArray(body) ? body : body?.notifications || body?.items || [];
  return list.map((n, i) => {
    const raw = String(n.severity || n.level || 'info').toLowerCase();
    const severity = raw === 'error' ? 'critical' : SEVERITIES.includes(raw) ? raw : 'info';
    const resolved = parseTime(n.resolved || null);
    return {
      id: n.id ?? i,
      ts: parseTime(n.ts || n.time || null) ?? (Number.isFinite(n.ts_ms) ? n.ts_ms : null),
      severity,
      state: n.state === 'resolved' || resolved != null ? 'resolved' : 'open',
      resolved,
      rule: n.rule || '',
      title: n.title || n.rule || '',
      message: n.message || '',
    };
  });
}

const FILTERS = ['all', 'open', 'resolved'];

// The title in the page's language, by the rule that raised it (src/notify/rules.c); the
// server's English title stays for rules without a translation (an appliance's name, say).
// Messages carry the server's figures and stay as they are.
export function noteTitle(n) {
  if (n.rule === 'device_offline') {
    const id = /^Device (.+) offline$/.exec(n.title)?.[1];
    if (id) return t('notes.rule.device_offline', { id });
  }
  return tOr(`notes.rule.${n.rule}`, n.title);
}

export function NotificationsView({ s }) {
  const [items, setItems] = useState(undefined);
  const [error, setError] = useState(null);
  const [filter, setFilter] = useState('all');
  useEffect(() => {
    getOptional('/notifications').then((b) => setItems(b ? normalise(translated(b)) : [])).catch((e) => {
      setError(e.message);
      setItems([]);
    });
  }, [s.notificationsVersion]);
  const shown = (items || []).filter((n) => filter === 'all' || n.state === filter);
  return html`<section class="view notifications" data-testid="view-notifications" aria-labelledby="h-notes">
    <h1 id="h-notes" class="view-title">${t('nav.notifications')}</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items?.length > 0 && html`<div class="toolbar"><div class="segmented" role="group" aria-label=${t('notes.filter')}>
      ${FILTERS.map((f) => html`<button type="button" class=${f === filter ? 'active' : ''} aria-pressed=${f === filter ? 'true' : 'false'}
        data-testid=${`notes-filter-${f}`} onClick=${() => setFilter(f)}>${t(`notes.filter.${f}`)}</button>`)}</div></div>`}
    ${items === undefined ? html`<p>${t('common.loading')}</p>` : items.length === 0
      ? html`<div class="card empty" data-testid="notifications-empty"><p>${t('notes.empty')}</p><p class="hint">${t('notes.emptyHint')}</p></div>`
      : html`<ol class="card list notes" data-testid="notifications-list">
        ${shown.map((n) => html`<li key=${n.id} class=${`note sev-${n.severity} ${n.state}`} data-testid=${`notification-${n.id}`}
            data-severity=${n.severity} data-state=${n.state} data-rule=${n.rule}>
          <div class="row">
            <span class=${`sev-badge sev-${n.severity}`} data-testid="notification-severity">${t(`notes.severity.${n.severity}`)}</span>
            <strong data-testid="notification-title" title=${n.title}>${noteTitle(n)}</strong>
            <span class=${`badge ${n.state === 'resolved' ? 'ok' : n.severity === 'critical' ? 'bad' : ''}`} data-testid="notification-state">${t(`notes.state.${n.state}`)}</span>
          </div>
          ${n.message && html`<p>${n.message}</p>`}
          <p class="hint"><time>${n.ts == null ? '' : fmtDateTime(n.ts)}</time>${n.resolved != null
            ? html` · <span data-testid="notification-resolved">${t('notes.resolvedAt', { t: fmtDateTime(n.resolved) })}</span>` : ''}</p>
        </li>`)}</ol>`}
  </section>`;
}
