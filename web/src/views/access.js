// Settings → access: change the password, make and revoke API tokens for scripts. A new
// token is shown once, right here; the daemon keeps only its digest.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { ApiError, del, get, post, put } from '../api.js';
import { fmtDateTime } from '../fmt.js';

function PasswordForm() {
  const [fields, setFields] = useState({ current: '', next: '' });
  const [state, setState] = useState(null); // {ok} | {field, error}
  const submit = async (event) => {
    event.preventDefault();
    setState({ busy: true });
    try {
      await put('/auth/password', { current_password: fields.current, new_password: fields.next });
      setFields({ current: '', next: '' });
      setState({ ok: true });
    } catch (e) {
      setState({ field: e instanceof ApiError ? e.body?.field : null, error: e.message.replace(/^[a-z_]+: /, '') });
    }
  };
  const input = (key, field, label, autocomplete) => html`<div class="field">
    <label for=${`pw-${key}`}>${label}</label>
    <input id=${`pw-${key}`} data-testid=${`password-${key}`} type="password" autocomplete=${autocomplete} value=${fields[key]}
      onInput=${(e) => { setFields({ ...fields, [key]: e.currentTarget.value }); setState(null); }} />
    ${state?.field === field && html`<p class="field-error" role="alert">${state.error}</p>`}
  </div>`;
  return html`<form onSubmit=${submit} noValidate>
    <div class="fields">
      ${input('current', 'current_password', t('access.current'), 'current-password')}
      ${input('next', 'new_password', t('access.new'), 'new-password')}
    </div>
    ${state?.error && !state.field && html`<p class="field-error" role="alert">${state.error}</p>`}
    ${state?.ok && html`<p class="ok" role="status" data-testid="password-changed">${t('access.changed')}</p>`}
    <div class="buttons"><button type="submit" data-testid="password-submit" disabled=${state?.busy}>${t('access.change')}</button></div>
  </form>`;
}

function Tokens() {
  const [tokens, setTokens] = useState(null);
  const [name, setName] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const [made, setMade] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get('/auth/tokens').then((a) => setTokens(a.tokens)).catch((e) => setError(e.message));
  useEffect(() => { load(); }, []);
  const make = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      setMade(await post('/auth/tokens', { name: name.trim(), read_only: readOnly }));
      setName('');
      load();
    } catch (e) {
      setError(e.message);
    }
  };
  const revoke = async (id) => {
    try {
      await del(`/auth/tokens/${id}`);
      if (made?.id === id) setMade(null);
      load();
    } catch (e) {
      setError(e.message);
    }
  };
  return html`<div data-testid="tokens">
    <h3>${t('access.tokens')}</h3>
    <p class="hint">${t('access.tokensHint')}</p>
    ${tokens?.length === 0 && html`<p class="hint">${t('access.noTokens')}</p>`}
    ${tokens?.length > 0 && html`<ul class="token-list">${tokens.map((x) => html`<li key=${x.id} data-testid="token-item">
      <span><strong>${x.name}</strong>${x.read_only ? html` <span class="badge" data-testid="token-read-only">${t('access.readOnly')}</span>` : ''} · ${t('access.created', { t: fmtDateTime(Date.parse(x.created)) })}
        · ${x.last_used ? t('access.lastUsed', { t: fmtDateTime(Date.parse(x.last_used)) }) : t('access.neverUsed')}</span>
      <button type="button" class="secondary" data-testid="token-revoke" onClick=${() => revoke(x.id)}>${t('access.revoke')}</button>
    </li>`)}</ul>`}
    ${made && html`<div class="ok" role="status"><p>${t('access.made', { name: made.name })}</p>
      <code class="token" data-testid="new-token">${made.token}</code></div>`}
    <form onSubmit=${make} class="input-row" noValidate>
      <label for="token-name" class="sr-only">${t('access.tokenName')}</label>
      <input id="token-name" data-testid="token-name" placeholder=${t('access.tokenName')} value=${name}
        onInput=${(e) => setName(e.currentTarget.value)} />
      <label class="check"><input type="checkbox" data-testid="token-read-only-box" checked=${readOnly}
        onChange=${(e) => setReadOnly(e.currentTarget.checked)} /> ${t('access.readOnly')}</label>
      <button type="submit" data-testid="token-make" disabled=${!name.trim()}>${t('access.make')}</button>
    </form>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </div>`;
}

export function AccessCard({ auth }) {
  if (!auth?.logged_in) return null;
  return html`<section class="card" data-testid="access" aria-labelledby="h-access">
    <h2 id="h-access">${t('access.title')}</h2>
    ${auth.via === 'session' && html`<h3>${t('access.password')}</h3><${PasswordForm} />`}
    <${Tokens} />
  </section>`;
}
