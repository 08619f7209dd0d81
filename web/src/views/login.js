// The login panel: the first password (with the setup code the daemon wrote beside its
// database) or the password of an installation that has one. Shown instead of the view when
// reading needs a login, above it when a change asked for one (a 401).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { ApiError, post } from '../api.js';
import { loadAuth, loggedIn, openLogin } from '../store.js';

export function LoginPanel({ auth, canClose }) {
  const setup = auth && !auth.password_set;
  const [fields, setFields] = useState({ setup_code: '', password: '', repeat: '' });
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const change = (key) => (e) => {
    setFields({ ...fields, [key]: e.currentTarget.value });
    setErrors({});
  };

  const submit = async (event) => {
    event.preventDefault();
    if (setup && fields.password !== fields.repeat) {
      setErrors({ repeat: t('login.mismatch') });
      return;
    }
    setBusy(true);
    try {
      const answer = setup
        ? await post('/auth/setup', { setup_code: fields.setup_code.trim(), password: fields.password })
        : await post('/auth/login', { password: fields.password });
      setFields({ setup_code: '', password: '', repeat: '' });
      await loggedIn(answer.csrf_token);
    } catch (e) {
      const field = e instanceof ApiError && e.body?.field;
      if (e instanceof ApiError && e.status === 409) {
        await loadAuth(); // a password was set meanwhile (or is still missing): show the right panel
        setErrors({ form: e.message });
      } else if (e instanceof ApiError && e.status === 429) setErrors({ form: t('login.tooMany', { e: e.message }) });
      else if (field) setErrors({ [field]: e.message.replace(/^[a-z_]+: /, '') });
      else setErrors({ form: e.message });
    } finally {
      setBusy(false);
    }
  };

  const input = (key, label, type, autocomplete) => html`<div class="field">
    <label for=${`login-${key}`}>${label}</label>
    <input id=${`login-${key}`} data-testid=${`login-${key}`} type=${type} value=${fields[key]} onInput=${change(key)}
      autocomplete=${autocomplete} required aria-invalid=${errors[key] ? 'true' : undefined} />
    ${errors[key] && html`<p class="field-error" role="alert" data-testid=${`login-error-${key}`}>${errors[key]}</p>`}
  </div>`;

  return html`<section class="card login" data-testid="login" aria-labelledby="h-login">
    <h2 id="h-login">${setup ? t('login.setupTitle') : t('login.title')}</h2>
    <p class="hint">${setup ? t('login.setupHint', { file: auth.setup_code_file || 'setup-code' }) : t('login.hint')}</p>
    <form onSubmit=${submit} noValidate>
      <div class="fields">
        ${setup && input('setup_code', t('login.setupCode'), 'text', 'off')}
        ${input('password', setup ? t('login.newPassword') : t('login.password'), 'password', setup ? 'new-password' : 'current-password')}
        ${setup && input('repeat', t('login.repeat'), 'password', 'new-password')}
      </div>
      ${errors.form && html`<p class="field-error" role="alert" data-testid="login-error">${errors.form}</p>`}
      <div class="buttons">
        ${canClose && html`<button type="button" class="secondary" onClick=${() => openLogin(false)}>${t('login.cancel')}</button>`}
        <button type="submit" data-testid="login-submit" disabled=${busy}>${setup ? t('login.setupSubmit') : t('login.submit')}</button>
      </div>
    </form>
  </section>`;
}
