// What the footprint drawings share: the visible windows, the row size in use, and the
// price ↔ pixel scale of the candle series they are attached to.

import { chartTime } from '../format.js';
import { groupRows } from './rows.js';

/** Row sizes (in ticks) the automatic choice picks from. */
const STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000];
/** Least height of a row, in CSS pixels, for the automatic row size. */
const MIN_ROW_PX = 14;

export class View {
  constructor(chart, series, flow, settings) {
    this.chart = chart;
    this.series = series;
    this.flow = flow;
    this.settings = settings;
    /** ts → { rows, tick, ticks, grouped }: a bar's rows grouped, until its rows change. */
    this.groupedCache = new Map();
  }

  /** The rows of window `ts` grouped into buckets of `ticks` ticks (cached: panning over a
   *  day of bars regroups nothing). */
  grouped(ts, ticks) {
    const rows = this.flow.footprints.get(ts) ?? [];
    const tick = this.flow.tick;
    const hit = this.groupedCache.get(ts);
    if (hit && hit.rows === rows && hit.tick === tick && hit.ticks === ticks) return hit.grouped;
    const grouped = groupRows(rows, tick, ticks);
    this.groupedCache.set(ts, { rows, tick, ticks, grouped });
    return grouped;
  }

  /** Pixels between two bars. */
  barSpacing() {
    const ts = this.chart.timeScale();
    const a = ts.logicalToCoordinate(0);
    const b = ts.logicalToCoordinate(1);
    return a == null || b == null ? 0 : Math.abs(b - a);
  }

  /** Pixels per unit of price at the current scale. */
  pixelsPerPrice() {
    const range = this.series.priceScale().getVisibleRange?.();
    const lo = range ? range.from : 0;
    const hi = range ? range.to : 1;
    const y0 = this.series.priceToCoordinate(lo);
    const y1 = this.series.priceToCoordinate(hi);
    if (y0 == null || y1 == null || hi === lo) return 0;
    return Math.abs(y0 - y1) / Math.abs(hi - lo);
  }

  /** Row size in ticks: the trader's choice, or the smallest step whose rows are legible. */
  rowTicks() {
    if (this.settings.rowTicks !== 'auto') return this.settings.rowTicks;
    const tick = this.flow.tick;
    const perPrice = this.pixelsPerPrice();
    if (!tick || !perPrice) return 1;
    return STEPS.find((n) => n * tick * perPrice >= MIN_ROW_PX) ?? STEPS[STEPS.length - 1];
  }

  /** Windows (ms) whose bar is on screen, oldest first, with their x coordinate. */
  visibleBars() {
    const range = this.chart.timeScale().getVisibleRange();
    if (!range) return [];
    const from = Number(range.from) * 1000 - this.flow.windowMs;
    const to = Number(range.to) * 1000 + this.flow.windowMs;
    const times = this.flow.sortedTimes;
    const out = [];
    for (let i = lowerBound(times, from); i < times.length && times[i] <= to; i++) {
      const x = this.chart.timeScale().timeToCoordinate(chartTime(times[i]));
      if (x != null) out.push({ ts: times[i], x });
    }
    return out;
  }

  /** y of the edge between two rows: `k` in ticks, the lower edge of the row whose lowest price is k ticks. */
  edgeY(k) {
    return this.series.priceToCoordinate((k - 0.5) * this.flow.tick);
  }
}

function lowerBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A series primitive from one `draw(ctx, size)` function, redrawn when the chart asks. */
export function primitive(draw, zOrder = 'normal') {
  let requestUpdate = () => {};
  const renderer = {
    draw(target) {
      target.useMediaCoordinateSpace(({ context, mediaSize }) => {
        context.save();
        try {
          draw(context, mediaSize);
        } finally {
          context.restore();
        }
      });
    },
  };
  const view = { zOrder: () => zOrder, renderer: () => renderer };
  return {
    attached(param) {
      requestUpdate = param.requestUpdate;
    },
    detached() {
      requestUpdate = () => {};
    },
    paneViews: () => [view],
    updateAllViews() {},
    redraw: () => requestUpdate(),
  };
}

/** Volumes as a trader reads them in a cell: few digits, no noise. */
export function cellNumber(x) {
  if (!Number.isFinite(x) || x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1e6) return (x / 1e6).toFixed(1) + 'M';
  if (abs >= 1e4) return (x / 1e3).toFixed(1) + 'k';
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}
