// Where the site is, without looking up coordinates: a place search (GET /api/v1/geocode:
// the daemon asks the geocoder of site.geocoder_url) whose pick fills latitude, longitude and
// time zone and shows the place on the map, and the map (map.js), where a click sets the
// site. Shown by the setup's site step and Settings → Site; loaded on first use
// (LazySitePicker in views/settings.js), so the first view does not carry it: it imports
// nothing of the app, which hands over what it uses (makeSitePicker), because esbuild would
// put modules both import into a chunk of their own that the first view would load too. What
// the search and the map need comes from the saved config (the page's policy allows the saved
// tile server), the place from the draft being edited (ctx).
import { makeTileMap } from './map.js';

const round4 = (v) => Math.round(v * 1e4) / 1e4;
const host = (url) => {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
};
const num = (v) => (v === '' || v == null ? NaN : Number(v));
const placeText = (p) => [p.name, p.postcode, p.admin1, p.country].filter(Boolean).join(', ');
// A place picked from the list is shown at street level, so a click can put the pin on the house.
const PICKED_ZOOM = 14;

// deps: {html, useEffect, useRef, useState, t, lang, get, query} of the app.
export function makeSitePicker(deps) {
  const { html, useState, t, lang, get, query } = deps;
  const TileMap = makeTileMap(deps);

  return function SitePicker({ ctx }) {
    const saved = ctx.saved?.site || {};
    const site = ctx.draft.site || {};
    const tiles = saved.map_tiles_url || '';
    const geocoder = saved.geocoder_url || '';
    const [text, setText] = useState('');
    const [found, setFound] = useState(null); // {busy} | {results, q} | {error} | {picked}
    const [focus, setFocus] = useState(null);
    if (!tiles && !geocoder) return null;

    const setPlace = (lat, lon, timezone) => {
      ctx.change('site.latitude', lat);
      ctx.change('site.longitude', lon);
      if (timezone) ctx.change('site.timezone', timezone);
    };
    const search = async () => {
      const q = text.trim();
      if (!q) return;
      setFound({ busy: true });
      try {
        const answer = await get(`/geocode?${query({ q, lang: lang() })}`);
        setFound({ results: answer.results || [], q });
      } catch (e) {
        setFound({ error: e.message });
      }
    };
    const choose = (p) => {
      setPlace(round4(p.latitude), round4(p.longitude), p.timezone);
      setFocus({ lat: p.latitude, lon: p.longitude, zoom: PICKED_ZOOM });
      setFound({ picked: p.timezone ? `${placeText(p)} (${p.timezone})` : placeText(p) });
    };
    const clicked = (lat, lon) => {
      setPlace(lat, lon);
      setFound({ picked: `${lat.toFixed(4)}, ${lon.toFixed(4)}` });
    };
    const results = found?.results;
    const where = [geocoder && t('picker.viaSearch', { host: host(geocoder) }), tiles && t('picker.viaMap', { host: host(tiles) })]
      .filter(Boolean).join(' ');
    return html`<div class="site-picker" data-testid="site-picker">
      ${geocoder && html`<div class="field"><label for="place-q">${t('picker.search')}</label>
        <div class="input-row">
          <input id="place-q" type="search" data-testid="place-q" value=${text} autocomplete="off" enterkeyhint="search"
            placeholder=${t('picker.placeholder')} maxlength="100" onInput=${(e) => setText(e.currentTarget.value)}
            onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); search(); } }} />
          <button type="button" data-testid="place-search" disabled=${found?.busy || !text.trim()} onClick=${search}>
            ${found?.busy ? t('picker.searching') : t('picker.searchButton')}</button>
        </div></div>`}
      ${results?.length > 0 && html`<ul class="place-results" data-testid="place-results" aria-label=${t('picker.results')}>
        ${results.map((p, i) => html`<li key=${i}><button type="button" class="secondary" data-testid=${`place-result-${i}`}
          onClick=${() => choose(p)}>${placeText(p)}</button></li>`)}</ul>`}
      ${results && !results.length && html`<p class="hint" role="status" data-testid="place-none">${t('picker.none', { q: found.q })}</p>`}
      ${found?.error && html`<p class="field-error" role="alert" data-testid="place-error">${found.error}</p>`}
      ${found?.picked && html`<p class="ok" role="status" data-testid="place-picked">${t('picker.picked', { place: found.picked })}</p>`}
      ${tiles && html`<p class="hint">${t('picker.mapHint')}</p>
        <${TileMap} tiles=${tiles} lat=${num(site.latitude)} lon=${num(site.longitude)} focus=${focus} onPick=${clicked} />`}
      <p class="hint" data-testid="site-picker-where">${where}</p>
    </div>`;
  };
}
