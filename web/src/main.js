// Entry point: render the shell, load the state, start the event stream, register the service
// worker (which keeps the shell and the last API answers for offline use).
import { render } from 'preact';
import { html } from './html.js';
import { lang } from './i18n.js';
import { App } from './app.js';
import { start } from './store.js';

document.documentElement.lang = lang();
render(html`<${App} />`, document.getElementById('app'));
start();

if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch(() => {
      /* no offline copy; everything else works */
    });
  });
}
