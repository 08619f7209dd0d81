// Notifications: GET /api/v1/notifications, newest first. The endpoint is new: a 404 (an
// older daemon) reads as "none yet". Entries are read leniently (time, level, title, message).
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

function normalise(body) {
  const list = Array.isArray(body) ? body : body?.notifications || body?.items || [];
  return list.map((n, i) => ({
    id: n.id ?? i,
    ts: parseTime(n.ts || n.time || n.created || n.created_at || null) ?? (Number.isFinite(n.ts_ms) ? n.ts_ms : null),
    level: n.level || n.severity || n.priority || 'info',
    title: n.title || n.rule || n.kind || '',
    message: n.message || n.body || n.text || n.detail || '',
    channel: n.channel || n.channels,
    result: n.result || n.status || n.sent,
  }));
}

export function NotificationsView({ s }) {
  const [items, setItems] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    getOptional('/notifications').then((b) => setItems(b ? normalise(translated(b)) : [])).catch((e) => {
      setError(e.message);
      setItems([]);
    });
  }, [s.notificationsVersion]);
  return html`<section class="view notifications" data-testid="view-notifications" aria-labelledby="h-notes">
    <h1 id="h-notes" class="view-title">${t('nav.notifications')}</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items === undefined ? html`<p>${t('common.loading')}</p>` : items.length === 0
      ? html`<div class="card empty" data-testid="notifications-empty"><p>${t('notes.empty')}</p><p class="hint">${t('notes.emptyHint')}</p></div>`
      : html`<ol class="card list notes" data-testid="notifications-list">
        ${items.map((n) => html`<li key=${n.id} class=${`note ${n.level}`} data-testid=${`notification-${n.id}`}>
          <div class="row"><strong>${n.title || tOr(`notes.level.${n.level}`, n.level)}</strong>
            <time class="hint">${n.ts == null ? '' : fmtDateTime(n.ts)}</time></div>
          ${n.message && html`<p>${n.message}</p>`}
          ${n.channel && html`<p class="hint">${[].concat(n.channel).join(', ')}${typeof n.result === 'string' ? ` · ${n.result}` : ''}</p>`}
        </li>`)}</ol>`}
  </section>`;
}
