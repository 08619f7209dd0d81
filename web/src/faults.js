// What went wrong with a device or a provider, in the page's language: the daemon sends a
// fault code with its English detail (docs/api.md, "Fault codes"). The sentence comes from
// the code; the detail (a path, a status, the network library's words) follows as the
// technical part, marked as English, for the one who digs further.
import { html } from './html.js';
import { t, tOr } from './i18n.js';

export const faultSentence = (code) => tOr(`fault.${code}`, t('fault.failed'));

export function FaultText({ code, detail, testid }) {
  return html`<p class="error fault" data-testid=${testid} data-code=${code || 'failed'}>${faultSentence(code)}${detail
    && html` <code class="fault-detail" lang="en">${detail}</code>`}</p>`;
}
