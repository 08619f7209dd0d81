// The shell: navigation (bottom tab bar on phones, side bar on wide screens), the language and
// theme switches, the offline banner and the hash router (#/live, #/plan, …).
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { lang, onLang, setLang, t } from './i18n.js';
import { getState, openLogin, subscribe } from './store.js';
import { post } from './api.js';
import { icon } from './icons.js';
import { fmtTimeSec } from './fmt.js';
import { LiveView } from './views/live.js';
import { PlanView } from './views/plan.js';
import { HistoryView } from './views/history.js';
import { SavingsView } from './views/savings.js';
import { DevicesView } from './views/devices.js';
import { NotificationsView } from './views/notifications.js';
import { SettingsView } from './views/settings.js';
import { LoginPanel } from './views/login.js';
import { OnboardingView } from './views/onboarding.js';

export const VIEWS = {
  live: LiveView, plan: PlanView, history: HistoryView, savings: SavingsView,
  devices: DevicesView, notifications: NotificationsView, settings: SettingsView,
};

// Views reached by link, not from the navigation: the first setup.
const HIDDEN_VIEWS = { setup: OnboardingView };

// A site without devices (first start) is led to the setup once, unless it was finished.
function setupDone() {
  try {
    return localStorage.getItem('balkon.setupDone') === '1';
  } catch {
    return false;
  }
}

export function parseRoute(hash) {
  const [name, ...rest] = hash.replace(/^#\/?/, '').split('/');
  if (!VIEWS[name] && !HIDDEN_VIEWS[name]) return { name: 'live', params: {} };
  if (name === 'history') return { name, params: { range: rest[0] } };
  // #/settings/devices opens Settings at its devices section (links from Live and Devices).
  if (name === 'settings') return { name, params: { section: rest[0] } };
  return { name, params: {} };
}

// Theme: the stored choice, else the system's (prefers-color-scheme). data-theme on <html>.
const THEME_KEY = 'balkon.theme';
const systemDark = matchMedia('(prefers-color-scheme: dark)');
function storedTheme() {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null;
  }
}
export const effectiveTheme = () => storedTheme() || (systemDark.matches ? 'dark' : 'light');
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  document.querySelector('meta[name="theme-color"]')?.setAttribute('content', theme === 'dark' ? '#12161b' : '#f6f7f9');
}

function useStore() {
  const [, setTick] = useState(0);
  useEffect(() => subscribe(() => setTick((n) => n + 1)), []);
  return getState();
}

function OfflineBanner({ s }) {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const up = () => setOnline(true), down = () => setOnline(false);
    addEventListener('online', up);
    addEventListener('offline', down);
    return () => {
      removeEventListener('online', up);
      removeEventListener('offline', down);
    };
  }, []);
  const offline = !online || s.sse === 'down' || s.fromCache;
  if (!offline) return null;
  const since = s.status?.ts_ms ? fmtTimeSec(s.status.ts_ms) : null;
  return html`<div class="offline-banner" role="status" data-testid="offline-banner">
    <strong>${s.fromCache || !online ? t('offline.title') : t('offline.stream')}</strong>
    ${' '}${since ? t('offline.lastKnown', { t: since }) : t('offline.reconnecting')}
  </div>`;
}

// The daemon listens beyond this machine without HTTPS (GET /api/v1/health's warning):
// passwords and the login cookie cross the network readable by anyone on it.
function InsecureBanner({ s }) {
  if (!s.health?.warning) return null;
  return html`<div class="offline-banner insecure-banner" role="alert" data-testid="insecure-banner">
    <strong>${t('insecure.title')}</strong>${' '}${t('insecure.text')}
  </div>`;
}

// Log in (opens the login panel) or log out (ends the session, forgets the cached answers).
function AuthButton({ auth }) {
  if (!auth) return null;
  if (auth.logged_in && auth.via !== 'session') return null; // a token's page: nothing to end
  const logout = async () => {
    await post('/auth/logout').catch(() => {});
    await globalThis.caches?.delete('balkon-api-v1').catch(() => {});
    location.reload();
  };
  return auth.logged_in
    ? html`<button type="button" class="tool" data-testid="logout" onClick=${logout} aria-label=${t('login.logout')} title=${t('login.logout')}>${icon('unlock')}</button>`
    : html`<button type="button" class="tool" data-testid="login-open" onClick=${() => openLogin(true)} aria-label=${t('login.title')} title=${t('login.title')}>${icon('lock')}</button>`;
}

export function App() {
  const s = useStore();
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [theme, setTheme] = useState(effectiveTheme);
  const [, setLangTick] = useState(lang());

  useEffect(() => {
    const onHash = () => {
      setRoute(parseRoute(location.hash));
      document.getElementById('main')?.focus({ preventScroll: true });
      scrollTo(0, 0);
    };
    addEventListener('hashchange', onHash);
    const onSystem = () => { if (!storedTheme()) setTheme(effectiveTheme()); };
    systemDark.addEventListener('change', onSystem);
    onLang((l) => setLangTick(l));
    return () => {
      removeEventListener('hashchange', onHash);
      systemDark.removeEventListener('change', onSystem);
    };
  }, []);
  useEffect(() => applyTheme(theme), [theme]);
  const ledToSetup = useRef(false);
  useEffect(() => {
    if (ledToSetup.current || !s.config || !(s.auth?.logged_in || s.auth?.read_without_login)) return;
    ledToSetup.current = true;
    if ((s.config.devices || []).length === 0 && !setupDone() && route.name === 'live') location.hash = '#/setup';
  }, [s.config, s.auth]);
  useEffect(() => {
    const site = s.config?.site?.name;
    document.title = `${t(`nav.${route.name}`)} · ${site || 'BalkonSolar'}`;
  });

  const toggleTheme = () => {
    const next = theme === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      /* not remembered */
    }
    applyTheme(next); // at once, not after the next render
    setTheme(next);
  };
  const View = VIEWS[route.name] || HIDDEN_VIEWS[route.name];
  const themeKey = `${theme}|${lang()}`;

  return html`<div class="app">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>${t('chrome.skip')}</a>
    <header class="top">
      <div class="brand">${icon('pv')}<span>${s.config?.site?.name || 'BalkonSolar'}</span></div>
      <div class="tools">
        <${AuthButton} auth=${s.auth} />
        <button type="button" class="tool" data-testid="lang-toggle" onClick=${() => setLang(lang() === 'de' ? 'en' : 'de')}
          aria-label=${t('chrome.langLabel')} lang=${lang() === 'de' ? 'en' : 'de'}>${lang() === 'de' ? 'EN' : 'DE'}</button>
        <button type="button" class="tool" data-testid="theme-toggle" onClick=${toggleTheme}
          aria-label=${theme === 'dark' ? t('chrome.toLight') : t('chrome.toDark')} aria-pressed=${theme === 'dark' ? 'true' : 'false'}
          data-theme-now=${theme}>${icon(theme === 'dark' ? 'sun' : 'moon')}</button>
      </div>
    </header>
    <nav class="nav" aria-label=${t('chrome.nav')}>
      <ul>${Object.keys(VIEWS).map((name) => html`<li><a href=${`#/${name}`} data-testid=${`nav-${name}`}
        aria-current=${route.name === name ? 'page' : undefined} aria-label=${t(`nav.${name}`)}>${icon(name)}<span
        data-short=${t(`nav.short.${name}`)}>${t(`nav.${name}`)}</span></a></li>`)}</ul>
    </nav>
    <main id="main" tabindex="-1">
      <${OfflineBanner} s=${s} />
      <${InsecureBanner} s=${s} />
      ${s.error && !s.status && html`<p class="error" role="alert">${t('chrome.unreachable', { e: s.error })}</p>`}
      ${s.loginOpen && s.auth && html`<${LoginPanel} auth=${s.auth} canClose=${s.auth.read_without_login} />`}
      ${!(s.loginOpen && s.auth && !s.auth.read_without_login && !s.auth.logged_in) &&
        html`<${View} key=${route.name} s=${s} route=${route} themeKey=${themeKey} />`}
    </main>
  </div>`;
}
