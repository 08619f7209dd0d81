// A small slippy map for picking the site: raster tiles from a {z}/{x}/{y} URL template
// (site.map_tiles_url, OpenStreetMap's by default), drag to pan, wheel and +/- to zoom, the
// arrow keys too; a click (or Enter) picks the point under it, rounded to 4 decimals (about
// 10 m), and a marker shows the site. Web Mercator as the tile servers use it: at zoom z the
// world is 256·2^z pixels wide, x from 180° W, y from 85.05° N. Loaded only with the site
// section (site-picker.js), never with the first view; like it, it imports nothing of the app
// (makeTileMap takes what it uses), since code both shared would go into a chunk that the
// first view would then load as well.
//
// The page's Content-Security-Policy allows images from the tile server's origin only
// (src/http/server.c). Tiles are asked with the page's origin as Referer (referrerpolicy
// "strict-origin"; the page itself sends none), as OpenStreetMap's tile usage policy wants.
const TILE = 256;
const MIN_ZOOM = 2;
const MAX_ZOOM = 18;
const MAX_LAT = 85.05112878;
const CLICK_SLOP_PX = 5; // a press that moved less than this is a click, not a drag

const worldSize = (z) => TILE * 2 ** z;
// Degrees to world pixels at zoom z, and back.
export function project(lat, lon, z) {
  const s = Math.sin((Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180);
  const w = worldSize(z);
  return { x: ((lon + 180) / 360) * w, y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * w };
}
export function unproject(x, y, z) {
  const w = worldSize(z);
  const lon = (x / w) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / w))) * 180) / Math.PI;
  return { lat, lon: ((((lon + 180) % 360) + 360) % 360) - 180 };
}
const round4 = (v) => Math.round(v * 1e4) / 1e4;
export const tileUrl = (template, z, x, y) => template.replace('{z}', z).replace('{x}', x).replace('{y}', y);

// The map component, made with the app's html, preact hooks and t. Its props: tiles (the URL
// template), lat/lon (the site, the marker), onPick(lat, lon), focus ({lat, lon, zoom}: a
// place to show, e.g. a search result; a new object moves there).
export const makeTileMap = ({ html, useEffect, useRef, useState, t }) => function TileMap({ tiles, lat, lon, onPick, focus }) {
  const box = useRef(null);
  const [size, setSize] = useState({ w: 320, h: 260 });
  const [view, setView] = useState(() => {
    const z = 12;
    return { z, ...project(Number.isFinite(lat) ? lat : 51, Number.isFinite(lon) ? lon : 10, z) };
  });
  const [failed, setFailed] = useState(0);
  const [loaded, setLoaded] = useState(0);
  const press = useRef(null);

  useEffect(() => {
    const el = box.current;
    const measure = () => setSize({ w: el.clientWidth || 320, h: el.clientHeight || 260 });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    if (focus) setView({ z: focus.zoom, ...project(focus.lat, focus.lon, focus.zoom) });
  }, [focus]);

  // The world point under a point of the box (offsets from its top left corner).
  const at = (ox, oy, v = view) => ({ x: v.x - size.w / 2 + ox, y: v.y - size.h / 2 + oy });
  const zoomBy = (dz, ox = size.w / 2, oy = size.h / 2) => setView((v) => {
    const z = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, v.z + dz));
    if (z === v.z) return v;
    const p = at(ox, oy, v);
    const f = 2 ** (z - v.z);
    return { z, x: p.x * f - ox + size.w / 2, y: p.y * f - oy + size.h / 2 };
  });
  const pick = (ox, oy) => {
    const p = at(ox, oy);
    const place = unproject(p.x, p.y, view.z);
    onPick(round4(place.lat), round4(place.lon));
  };
  // A pointer's place in the box, from the inner edge of its border (where the tiles start).
  const offset = (e) => {
    const el = box.current;
    const r = el.getBoundingClientRect();
    return { ox: e.clientX - r.left - el.clientLeft, oy: e.clientY - r.top - el.clientTop };
  };

  const onPointerDown = (e) => {
    if (e.button !== 0 || e.target.closest('button, a')) return;
    box.current.setPointerCapture?.(e.pointerId);
    press.current = { x0: e.clientX, y0: e.clientY, vx: view.x, vy: view.y, moved: false };
  };
  const onPointerMove = (e) => {
    const p = press.current;
    if (!p) return;
    const dx = e.clientX - p.x0, dy = e.clientY - p.y0;
    if (!p.moved && Math.hypot(dx, dy) < CLICK_SLOP_PX) return;
    p.moved = true;
    setView((v) => ({ ...v, x: p.vx - dx, y: p.vy - dy }));
  };
  const onPointerUp = (e) => {
    const p = press.current;
    press.current = null;
    if (p && !p.moved) {
      const { ox, oy } = offset(e);
      pick(ox, oy);
    }
  };
  const onWheel = (e) => {
    e.preventDefault();
    const { ox, oy } = offset(e);
    zoomBy(e.deltaY < 0 ? 1 : -1, ox, oy);
  };
  const onKeyDown = (e) => {
    const step = { ArrowLeft: [-64, 0], ArrowRight: [64, 0], ArrowUp: [0, -64], ArrowDown: [0, 64] }[e.key];
    if (step) setView((v) => ({ ...v, x: v.x + step[0], y: v.y + step[1] }));
    else if (e.key === '+' || e.key === '=') zoomBy(1);
    else if (e.key === '-') zoomBy(-1);
    else if (e.key === 'Enter') pick(size.w / 2, size.h / 2);
    else return;
    e.preventDefault();
  };

  // The tiles that cover the box; x wraps around the world, y does not.
  const n = 2 ** view.z;
  const left = view.x - size.w / 2, top = view.y - size.h / 2;
  const list = [];
  for (let ty = Math.max(0, Math.floor(top / TILE)); ty <= Math.min(n - 1, Math.floor((top + size.h) / TILE)); ty++) {
    for (let tx = Math.floor(left / TILE); tx <= Math.floor((left + size.w) / TILE); tx++) {
      const wx = ((tx % n) + n) % n;
      list.push(html`<img key=${`${view.z}/${tx}/${ty}`} class="map-tile" alt="" draggable="false" referrerpolicy="strict-origin"
        src=${tileUrl(tiles, view.z, wx, ty)} style=${{ left: `${tx * TILE - left}px`, top: `${ty * TILE - top}px` }}
        onLoad=${() => setLoaded((c) => c + 1)} onError=${(e) => { e.currentTarget.style.visibility = 'hidden'; setFailed((c) => c + 1); }} />`);
    }
  }
  const marker = Number.isFinite(lat) && Number.isFinite(lon) ? project(lat, lon, view.z) : null;
  let origin = '';
  try {
    origin = new URL(tiles).host;
  } catch {
    /* the config's check allows only URLs */
  }
  return html`<div class="map" ref=${box} tabindex="0" role="application" aria-label=${t('map.label')} data-testid="site-map"
      data-zoom=${view.z}
      onPointerDown=${onPointerDown} onPointerMove=${onPointerMove} onPointerUp=${onPointerUp}
      onPointerCancel=${() => { press.current = null; }} onWheel=${onWheel} onKeyDown=${onKeyDown}>
    ${list}
    ${marker && html`<span class="map-marker" data-testid="site-map-marker" aria-hidden="true"
      style=${{ left: `${marker.x - left}px`, top: `${marker.y - top}px` }}></span>`}
    <div class="map-zoom">
      <button type="button" data-testid="map-zoom-in" aria-label=${t('map.zoomIn')} onClick=${() => zoomBy(1)}>+</button>
      <button type="button" data-testid="map-zoom-out" aria-label=${t('map.zoomOut')} onClick=${() => zoomBy(-1)}>−</button>
    </div>
    <div class="map-credit">© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener noreferrer">${t('map.osm')}</a></div>
    ${failed > 0 && loaded === 0 && html`<p class="map-failed" role="status" data-testid="map-failed">${t('map.failed', { origin })}</p>`}
  </div>`;
};
