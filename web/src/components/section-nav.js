// Section navigation for a long page (settings, a device's detail): a row of buttons, one per
// section, that scrolls to the section and marks the one in view. Buttons, not "#id" links:
// the hash is the router's (#/settings). Each section is an element with the given id.
//   <${SectionNav} sections=${[{ id: 'sec-site', label: 'Site' }, …]} />
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';

export function SectionNav({ sections, testid = 'section-nav' }) {
  const [active, setActive] = useState(sections[0]?.id);
  const chosenAt = useRef(0); // a chosen section stays marked while the page scrolls to it
  const ids = sections.map((s) => s.id).join(' ');
  useEffect(() => {
    if (!('IntersectionObserver' in window)) return undefined;
    const io = new IntersectionObserver((entries) => {
      if (Date.now() - chosenAt.current < 1500) return;
      const seen = entries.filter((e) => e.isIntersecting).sort((a, b) => a.boundingClientRect.top - b.boundingClientRect.top);
      if (seen.length) setActive(seen[0].target.id);
    }, { rootMargin: '-20% 0px -60% 0px' });
    for (const s of sections) {
      const el = document.getElementById(s.id);
      if (el) io.observe(el);
    }
    return () => io.disconnect();
  }, [ids]);
  const go = (id) => {
    chosenAt.current = Date.now();
    setActive(id);
    document.getElementById(id)?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  return html`<nav class="section-nav" aria-label=${t('sections.title')} data-testid=${testid}>
    ${sections.map((s) => html`<button type="button" key=${s.id} data-testid=${`${testid}-${s.id}`} data-section=${s.id}
      aria-current=${active === s.id ? 'true' : undefined} class=${active === s.id ? 'active' : ''} onClick=${() => go(s.id)}>${s.label}</button>`)}
  </nav>`;
}
