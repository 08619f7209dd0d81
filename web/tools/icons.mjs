// Draws the app icon (a sun over a battery on green) from one list of shapes into
// icons/icon.svg and, with a small rasteriser (4 x 4 supersampling, no dependencies), into
// icons/icon-192.png and icons/icon-512.png. Shapes stay inside the maskable safe zone (the
// central circle of 80 % diameter), so launchers may crop the icon to any shape.
// Run by scripts/build-web.sh; the output is deterministic.
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const GREEN = [0x1f, 0x6f, 0x4a], SUN = [0xff, 0xc2, 0x33], WHITE = [0xff, 0xff, 0xff], LEVEL = [0x4c, 0xc5, 0x7f];
const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

// On a 512 x 512 canvas.
const shapes = [
  { kind: 'rect', x: 0, y: 0, w: 512, h: 512, r: 112, fill: GREEN },
  { kind: 'circle', cx: 200, cy: 200, r: 58, fill: SUN },
  ...Array.from({ length: 8 }, (_, i) => {
    const a = (i * Math.PI) / 4;
    const c = Math.cos(a), s = Math.sin(a);
    return { kind: 'capsule', x1: 200 + 82 * c, y1: 200 + 82 * s, x2: 200 + 110 * c, y2: 200 + 110 * s, r: 12, fill: SUN };
  }),
  { kind: 'rect', x: 240, y: 290, w: 160, h: 100, r: 18, fill: WHITE },
  { kind: 'rect', x: 398, y: 322, w: 18, h: 36, r: 6, fill: WHITE },
  { kind: 'rect', x: 256, y: 306, w: 92, h: 68, r: 8, fill: LEVEL },
];

function inside(s, x, y) {
  switch (s.kind) {
    case 'circle':
      return (x - s.cx) ** 2 + (y - s.cy) ** 2 <= s.r ** 2;
    case 'capsule': {
      const dx = s.x2 - s.x1, dy = s.y2 - s.y1;
      const t = Math.max(0, Math.min(1, ((x - s.x1) * dx + (y - s.y1) * dy) / (dx * dx + dy * dy)));
      return (x - s.x1 - t * dx) ** 2 + (y - s.y1 - t * dy) ** 2 <= s.r ** 2;
    }
    default: {
      if (x < s.x || y < s.y || x > s.x + s.w || y > s.y + s.h) return false;
      const cx = Math.min(Math.max(x, s.x + s.r), s.x + s.w - s.r), cy = Math.min(Math.max(y, s.y + s.r), s.y + s.h - s.r);
      return (x - cx) ** 2 + (y - cy) ** 2 <= s.r ** 2;
    }
  }
}

function raster(size) {
  const px = Buffer.alloc(size * (size * 4 + 1));
  const k = 512 / size, n = 4;
  for (let py = 0; py < size; py++) {
    px[py * (size * 4 + 1)] = 0; // PNG filter: none
    for (let pxX = 0; pxX < size; pxX++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (pxX + (sx + 0.5) / n) * k, y = (py + (sy + 0.5) / n) * k;
          let c = null;
          for (const s of shapes) if (inside(s, x, y)) c = s.fill;
          if (c) { r += c[0]; g += c[1]; b += c[2]; a += 1; }
        }
      }
      const o = py * (size * 4 + 1) + 1 + pxX * 4;
      // Colours averaged over the covered samples (straight alpha).
      px[o] = a ? Math.round(r / a) : 0;
      px[o + 1] = a ? Math.round(g / a) : 0;
      px[o + 2] = a ? Math.round(b / a) : 0;
      px[o + 3] = Math.round((255 * a) / (n * n));
    }
  }
  return png(size, px);
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, raw) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bit, RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

function svg() {
  const r = (v) => Math.round(v * 10) / 10;
  const body = shapes.map((s) => {
    if (s.kind === 'circle') return `<circle cx="${s.cx}" cy="${s.cy}" r="${s.r}" fill="${hex(s.fill)}"/>`;
    if (s.kind === 'rect') return `<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" rx="${s.r}" fill="${hex(s.fill)}"/>`;
    return null;
  }).filter(Boolean);
  const rays = shapes.filter((s) => s.kind === 'capsule').map((s) => `M${r(s.x1)} ${r(s.y1)}L${r(s.x2)} ${r(s.y2)}`).join('');
  body.splice(2, 0, `<path d="${rays}" stroke="${hex(SUN)}" stroke-width="24" stroke-linecap="round"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${body.join('')}</svg>\n`;
}

const dir = new URL('../icons/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}icon.svg`, svg());
for (const size of [192, 512]) writeFileSync(`${dir}icon-${size}.png`, raster(size));
console.log('icons: icon.svg, icon-192.png, icon-512.png');
