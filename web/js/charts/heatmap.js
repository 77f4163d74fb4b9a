// The liquidity heatmap (SPEC 7) behind the candles of the price pane: resting bids and asks
// through time, dark where thin and bright where thick, with the best bid and ask as lines
// through it and the trades as bubbles on top. It asks the server for the visible window at
// the visible resolution (`/api/heatmap`, `/api/heatmap/overlay`) when the view moves, and
// every second while the run goes. The grid is drawn as an image: one pixel per cell in an
// ImageData, stretched column by column onto the chart's canvas by a series primitive.

import { colors } from '../theme.js';

/** Screen pixels per column and per price row the page asks for. */
const PX_PER_COLUMN = 2;
const PX_PER_ROW = 3;
/** Rows of one image at most (a very tall zoom-out is coarsened by the server instead). */
const MAX_ROWS = 2000;
const REFRESH_MS = 1000;

/** 1, 2 or 5 times a power of ten, at least `x`. */
function niceCeil(x) {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  for (const times of [1, 2, 5, 10]) if (times * power >= x * (1 - 1e-12)) return times * power;
  return 10 * power;
}

/** The `q` quantile of the positive values of `values`. */
function quantile(values, q) {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
}

// Two ramps, dark to bright: bids cool (teal to pale cyan), asks warm (maroon to yellow).
const BID_RAMP = [[6, 28, 36], [0, 128, 128], [80, 220, 200], [220, 255, 245]];
const ASK_RAMP = [[36, 10, 14], [150, 30, 40], [240, 120, 50], [255, 240, 170]];

function ramp(stops, t) {
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/**
 * Attaches the heatmap to `candles` (a series of pane 0 of `chart`). `clipInput` is a range
 * input (percentile of the visible cells at which colour saturates); `windowMs()` the bar
 * window; `enabled()` whether the server keeps a heatmap; `live()` whether the run goes on
 * (then the view is asked for again every second). Returns the counters the test uses.
 */
export function createHeatmap(chart, candles, { clipInput, windowMs, enabled, live }) {
  const timeScale = chart.timeScale();
  const state = {
    data: null, // last /api/heatmap answer
    overlay: null, // last /api/heatmap/overlay answer
    image: null, // offscreen canvas, one pixel per cell
    imageTop: 0, // price of the top edge of the image's first row
    rows: 0,
    clip: Number(clipInput?.value ?? 97) / 100,
    paneHeight: 400,
    paneWidth: 800,
    key: '',
    inFlight: false,
    sliceMs: null,
    absent: false, // the server keeps no heatmap (`run --no-heatmap`): never ask again
  };
  const debug = { fetches: 0, draws: 0, cells: 0, columns: 0, lastColumnTs: null, version: 0, errors: 0 };

  // ---- time ↔ x, through the bars on the time scale ----------------------------------------

  /** Bar start times (ms), ascending, as the candles hold them. */
  const barTimes = () => candles.data().map((p) => p.time * 1000);

  /** Logical position of time `ms`: bar i's window [T_i, T_i+1) maps to [i - 0.5, i + 0.5). */
  function logicalOf(ms, times) {
    const n = times.length;
    const w = windowMs();
    if (n === 0) return null;
    if (ms <= times[0]) return -0.5 + (ms - times[0]) / w;
    if (ms >= times[n - 1]) return n - 1.5 + (ms - times[n - 1]) / w;
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= ms) lo = mid; else hi = mid;
    }
    return lo - 0.5 + (ms - times[lo]) / (times[lo + 1] - times[lo]);
  }

  /** Time (ms) at logical position `l` (inverse of logicalOf). */
  function timeOf(l, times) {
    const n = times.length;
    const w = windowMs();
    if (n === 0) return null;
    const i = Math.floor(l + 0.5);
    if (i < 0) return times[0] + (l + 0.5) * w;
    if (i >= n - 1) return times[n - 1] + (l - (n - 1) + 0.5) * w;
    return times[i] + (l + 0.5 - i) * (times[i + 1] - times[i]);
  }

  /** x of time `ms`. The chart converts whole logical indices only: interpolate between two. */
  function xOf(ms, times) {
    const l = logicalOf(ms, times);
    if (l == null) return null;
    const i = Math.floor(l);
    const a = timeScale.logicalToCoordinate(i);
    const b = timeScale.logicalToCoordinate(i + 1);
    return a == null || b == null ? null : a + (l - i) * (b - a);
  }

  // ---- asking the server ---------------------------------------------------------------------

  /** The visible window at the visible resolution, or null before there are bars. */
  function visibleQuery() {
    const range = timeScale.getVisibleLogicalRange();
    const times = barTimes();
    if (!range || times.length === 0) return null;
    const from = Math.floor(timeOf(range.from, times));
    const to = Math.ceil(timeOf(range.to, times));
    const slice = state.sliceMs ?? 1000;
    const columns = Math.max(1, state.paneWidth / PX_PER_COLUMN);
    let step = Math.max(1, Math.ceil((to - from) / columns / slice)) * slice;
    // Wider than a minute: whole minutes, which the server sums from its pyramid.
    if (step > 60_000 && 60_000 % slice === 0) step = Math.ceil(step / 60_000) * 60_000;
    const top = candles.coordinateToPrice(0);
    const bottom = candles.coordinateToPrice(state.paneHeight);
    if (top == null || bottom == null || !(top > bottom)) return null;
    const row = niceCeil((top - bottom) / Math.max(1, state.paneHeight / PX_PER_ROW));
    const alignedFrom = Math.floor(from / step) * step;
    return { from: alignedFrom, to: to + step, step, row };
  }

  async function fetchJson(url) {
    const response = await fetch(url, { cache: 'no-store' });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  /** Asks for the visible window when it changed, or always with `force` (live updates). */
  async function refresh(force = false) {
    if (!enabled() || state.inFlight || state.absent) return;
    if (state.sliceMs == null) {
      // Learn the slice length (and whether there is a heatmap at all) once.
      try {
        const response = await fetch('/api/heatmap?step=86400000&row=1e12', { cache: 'no-store' });
        if (response.status === 404) {
          state.absent = true;
          return;
        }
        if (!response.ok) throw new Error(`/api/heatmap: ${response.status}`);
        state.sliceMs = (await response.json()).slice_ms;
      } catch {
        debug.errors += 1;
        return;
      }
    }
    const query = visibleQuery();
    if (!query) return;
    const key = `${query.from}|${query.to}|${query.step}|${query.row}`;
    if (!force && key === state.key) return;
    state.inFlight = true;
    try {
      const params = `from=${query.from}&to=${query.to}&step=${query.step}`;
      const [data, overlay] = await Promise.all([
        fetchJson(`/api/heatmap?${params}&row=${query.row}`),
        fetchJson(`/api/heatmap/overlay?${params}`),
      ]);
      debug.fetches += 1;
      state.key = key;
      state.data = data;
      state.overlay = overlay;
      buildImage();
      requestUpdate();
    } catch {
      debug.errors += 1;
    } finally {
      state.inFlight = false;
    }
  }

  // ---- the image -----------------------------------------------------------------------------

  /** One pixel per (column, row): bids and asks in their two hues, scaled to the clip. */
  function buildImage() {
    const { data } = state;
    const columns = data?.columns ?? [];
    debug.columns = columns.length;
    debug.lastColumnTs = columns.length ? columns[columns.length - 1][0] : null;
    debug.version += 1;
    if (columns.length === 0) {
      state.image = null;
      debug.cells = 0;
      return;
    }
    const R = data.row;
    let low = Infinity;
    let high = -Infinity;
    const values = [];
    for (const [, rows] of columns) {
      for (const [price, bid, ask] of rows) {
        if (price < low) low = price;
        if (price > high) high = price;
        if (bid > 0) values.push(bid);
        if (ask > 0) values.push(ask);
      }
    }
    const rowsCount = Math.min(MAX_ROWS, Math.round((high - low) / R) + 1);
    const clipValue = quantile(values, state.clip) || 1;
    const width = columns.length;
    const pixels = new Uint8ClampedArray(width * rowsCount * 4);
    let cells = 0;
    columns.forEach(([, rows], c) => {
      for (const [price, bid, ask] of rows) {
        const r = rowsCount - 1 - Math.round((price - low) / R);
        if (r < 0 || r >= rowsCount) continue;
        const tb = Math.min(1, bid / clipValue) ** 0.6;
        const ta = Math.min(1, ask / clipValue) ** 0.6;
        const b = bid > 0 ? ramp(BID_RAMP, tb) : [0, 0, 0];
        const a = ask > 0 ? ramp(ASK_RAMP, ta) : [0, 0, 0];
        const at = (r * width + c) * 4;
        pixels[at] = b[0] + a[0];
        pixels[at + 1] = b[1] + a[1];
        pixels[at + 2] = b[2] + a[2];
        pixels[at + 3] = 90 + 165 * Math.max(tb, ta);
        cells += 1;
      }
    });
    const canvas = state.image ?? document.createElement('canvas');
    canvas.width = width;
    canvas.height = rowsCount;
    canvas.getContext('2d').putImageData(new ImageData(pixels, width, rowsCount), 0, 0);
    state.image = canvas;
    state.imageTop = low + rowsCount * R;
    state.rows = rowsCount;
    debug.cells = cells;
  }

  // ---- the primitive -------------------------------------------------------------------------

  let requestUpdate = () => {};

  function drawHeatmap(target) {
    target.useMediaCoordinateSpace(({ context: ctx, mediaSize }) => {
      state.paneWidth = mediaSize.width;
      state.paneHeight = mediaSize.height;
      const { data, image } = state;
      if (!data || !image) return;
      const times = barTimes();
      if (times.length === 0) return;
      const yTop = candles.priceToCoordinate(state.imageTop);
      const yBottom = candles.priceToCoordinate(state.imageTop - state.rows * data.row);
      if (yTop == null || yBottom == null) return;
      ctx.save();
      ctx.imageSmoothingEnabled = false;
      data.columns.forEach(([ts], c) => {
        const x0 = xOf(ts, times);
        const x1 = xOf(ts + data.step, times);
        if (x0 == null || x1 == null || x1 < 0 || x0 > mediaSize.width) return;
        ctx.drawImage(image, c, 0, 1, state.rows, x0, yTop, Math.max(1, x1 - x0), yBottom - yTop);
      });
      ctx.restore();
      debug.draws += 1;
    });
  }

  function drawOverlay(target) {
    target.useMediaCoordinateSpace(({ context: ctx }) => {
      const overlay = state.overlay;
      if (!overlay || overlay.columns.length === 0) return;
      const times = barTimes();
      if (times.length === 0) return;
      const step = overlay.step;
      const line = (index, color) => {
        ctx.beginPath();
        let open = false;
        for (const column of overlay.columns) {
          const price = column[index];
          const x0 = xOf(column[0], times);
          const x1 = xOf(column[0] + step, times);
          const y = price == null ? null : candles.priceToCoordinate(price);
          if (x0 == null || x1 == null || y == null) { open = false; continue; }
          if (open) ctx.lineTo(x0, y); else ctx.moveTo(x0, y);
          ctx.lineTo(x1, y);
          open = true;
        }
        ctx.strokeStyle = color;
        ctx.lineWidth = 1.25;
        ctx.stroke();
      };
      line(1, 'rgba(38, 166, 154, 0.95)');
      line(2, 'rgba(239, 83, 80, 0.95)');
      let largest = 0;
      for (const c of overlay.columns) largest = Math.max(largest, c[3], c[5]);
      if (largest <= 0) return;
      const maxRadius = 14;
      for (const [ts, , , buy, buyVwap, sell, sellVwap] of overlay.columns) {
        const x0 = xOf(ts, times);
        const x1 = xOf(ts + step, times);
        if (x0 == null || x1 == null) continue;
        const x = (x0 + x1) / 2;
        for (const [volume, vwap, fill, stroke] of [
          [buy, buyVwap, 'rgba(38, 166, 154, 0.35)', colors.up],
          [sell, sellVwap, 'rgba(239, 83, 80, 0.35)', colors.down],
        ]) {
          if (!(volume > 0) || vwap == null) continue;
          const y = candles.priceToCoordinate(vwap);
          if (y == null) continue;
          const radius = Math.max(1.5, maxRadius * Math.sqrt(volume / largest));
          ctx.beginPath();
          ctx.arc(x, y, radius, 0, 2 * Math.PI);
          ctx.fillStyle = fill;
          ctx.fill();
          ctx.strokeStyle = stroke;
          ctx.lineWidth = 1;
          ctx.stroke();
        }
      }
    });
  }

  const heatmapView = { zOrder: () => 'bottom', renderer: () => ({ draw: drawHeatmap }) };
  const overlayView = { zOrder: () => 'top', renderer: () => ({ draw: drawOverlay }) };
  candles.attachPrimitive({
    attached(param) { requestUpdate = param.requestUpdate; },
    detached() { requestUpdate = () => {}; },
    updateAllViews() {},
    paneViews: () => [heatmapView, overlayView],
  });

  // ---- when to ask ---------------------------------------------------------------------------

  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh(false), 120);
  };
  timeScale.subscribeVisibleLogicalRangeChange(soon);
  clipInput?.addEventListener('input', () => {
    state.clip = Number(clipInput.value) / 100;
    buildImage();
    requestUpdate();
  });
  setInterval(() => {
    if (document.visibilityState === 'visible') refresh(live());
  }, REFRESH_MS);

  return {
    refresh,
    /** Counters for the browser test. */
    debug: () => ({ ...debug, zOrder: heatmapView.zOrder(), key: state.key }),
    /** Where time `ms` is drawn, beside where the chart puts a bar of that time. */
    probe: (ms) => ({ x: xOf(ms, barTimes()), bar: timeScale.timeToCoordinate(ms / 1000) }),
  };
}
