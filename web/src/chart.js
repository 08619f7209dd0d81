// Time-series charts with uPlot, loaded on first use (its own chunk, so the live view does not
// pay for it), created only when the chart's container is on screen, resized with the
// container, and recreated when the theme or language changes (axis colours and labels).
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { t } from './i18n.js';
import { fmtDateTime, fmtDayShort, fmtMonthShort, fmtTime, localParts, midnightsBetween, serverNow, siteTimeZone } from './fmt.js';

let uplotPromise = null;
export const loadUplot = () => (uplotPromise ||= import('uplot').then((m) => m.default));

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

// Draws the now-marker and the site's midnights (day boundaries) over the plot area.
function markersPlugin(showNow) {
  return {
    hooks: {
      drawAxes: [(u) => {
        const { ctx, bbox } = u;
        const [min, max] = [u.scales.x.min, u.scales.x.max];
        if (min == null || max - min > 16 * 86400) return; // day lines only where days are wide
        ctx.save();
        ctx.strokeStyle = css('--chart-day');
        ctx.lineWidth = 1;
        ctx.setLineDash([4, 4]);
        for (const ms of midnightsBetween(min * 1000, max * 1000)) {
          const x = Math.round(u.valToPos(ms / 1000, 'x', true)) + 0.5;
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      }],
      draw: [(u) => {
        if (!showNow) return;
        const now = serverNow() / 1000;
        if (now < u.scales.x.min || now > u.scales.x.max) return;
        const { ctx, bbox } = u;
        const x = Math.round(u.valToPos(now, 'x', true));
        ctx.save();
        ctx.strokeStyle = css('--chart-now');
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
        ctx.fillStyle = css('--chart-now');
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.fillText(t('chart.now'), x + 4 * devicePixelRatio, bbox.top + 12 * devicePixelRatio);
        ctx.restore();
      }],
    },
  };
}

// Time-axis labels in the site's zone and the page's language, 24-hour: "14:00", the day
// under the first label and under midnights; days or months for long ranges.
function timeAxisValues(u, splits, axisIdx, space, incr) {
  return splits.map((v, i) => {
    if (v == null) return '';
    const ms = v * 1000;
    if (incr >= 28 * 86400) return fmtMonthShort(ms);
    if (incr >= 86400) return fmtDayShort(ms);
    const p = localParts(ms);
    return i === 0 || (p.h === 0 && p.mi === 0) ? `${fmtTime(ms)}\n${fmtDayShort(ms)}` : fmtTime(ms);
  });
}

// Common options: time axis in the site's zone, themed axes, a legend with live values.
// xRange [from, to] (Unix s) fixes the time axis; scales are merged with the x scale.
export function baseOptions(U, { yLabel, yFormat, showNow = false, extraPlugins = [], y2, xRange, scales = {} } = {}) {
  const tz = siteTimeZone();
  const axisColor = css('--muted');
  const gridColor = css('--chart-grid');
  const axis = (extra) => ({ stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor },
    font: '12px system-ui, sans-serif', ...extra });
  const axes = [axis({ values: timeAxisValues, space: 56 }), axis({ label: yLabel, values: yFormat && ((u, vals) => vals.map(yFormat)), size: 64 })];
  if (y2) axes.push(axis({ scale: y2.scale, side: 1, label: y2.label, grid: { show: false }, size: 48,
    values: y2.format && ((u, vals) => vals.map(y2.format)) }));
  return {
    tzDate: tz ? (ts) => U.tzDate(new Date(ts * 1e3), tz) : (ts) => new Date(ts * 1e3),
    cursor: { points: { size: 6 }, focus: { prox: 24 } },
    legend: { live: true },
    axes,
    scales: { ...scales, x: { time: true, ...(xRange ? { range: () => xRange } : {}) } },
    plugins: [markersPlugin(showNow), ...extraPlugins],
  };
}

// <Chart> creates the plot lazily; `make(U)` returns the options (without width/height),
// `data` the uPlot columns (x in Unix seconds). `deps` recreate the plot when they change.
export function Chart({ make, data, height = 220, testid, deps = [], label }) {
  const box = useRef(null);
  const plot = useRef(null);
  const latest = useRef(data);
  latest.current = data;
  const [visible, setVisible] = useState(false);
  const [failed, setFailed] = useState(null);

  useEffect(() => {
    if (!('IntersectionObserver' in window)) return setVisible(true);
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        setVisible(true);
        io.disconnect();
      }
    }, { rootMargin: '200px' });
    io.observe(box.current);
    return () => io.disconnect();
  }, []);

  useEffect(() => {
    if (!visible || !data) return undefined;
    let dead = false;
    let ro = null;
    loadUplot().then((U) => {
      if (dead || !box.current) return;
      const width = box.current.clientWidth || 300;
      const opts = make(U);
      if (opts.series) opts.series[0] = { label: t('chart.time'), value: (u, v) => (v == null ? '–' : fmtDateTime(v * 1000)), ...opts.series[0] };
      plot.current = new U({ ...opts, width, height }, latest.current, box.current);
      ro = new ResizeObserver(() => {
        const w = box.current?.clientWidth;
        if (w && plot.current && Math.abs(w - plot.current.width) > 1) plot.current.setSize({ width: w, height });
      });
      ro.observe(box.current);
    }).catch((e) => setFailed(e.message));
    return () => {
      dead = true;
      ro?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [visible, data ? 1 : 0, ...deps]);

  useEffect(() => {
    if (plot.current && data) plot.current.setData(data);
  }, [data]);

  return html`<div class="chart" data-testid=${testid} ref=${box} role="figure" aria-label=${label}
    style=${`min-height:${height + 40}px`}>${failed && html`<p class="error">${failed}</p>`}</div>`;
}
