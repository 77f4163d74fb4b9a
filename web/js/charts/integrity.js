// Where the book could not be trusted (SPEC 10.2): a band over the price pane on every bar
// window that overlaps a span of uncertainty (from a gap in the message chain to the next
// snapshot), drawn as a full-height histogram on a price scale of its own.

import { chartTime } from '../format.js';

const LWC = window.LightweightCharts;
const BAND = 'rgba(227, 179, 65, 0.16)';

export function createIntegrityBand(chart) {
  const series = chart.addSeries(LWC.HistogramSeries, {
    priceScaleId: 'integrity',
    color: BAND,
    base: 0,
    lastValueVisible: false,
    priceLineVisible: false,
    crosshairMarkerVisible: false,
  }, 0);
  series.priceScale().applyOptions({ scaleMargins: { top: 0, bottom: 0 }, visible: false });
  let key = '';
  let marked = 0;

  return {
    /**
     * Marks the windows that overlap the spans `[{from, to}]` (`to` null: still uncertain).
     * `times()` gives the window starts, oldest first; `size` says when they changed: the
     * band is drawn again only when the spans or the windows changed.
     */
    set(times, spans, size) {
      const list = spans || [];
      const next = `${size}:${JSON.stringify(list)}`;
      if (next === key || (list.length === 0 && marked === 0)) {
        key = next;
        return;
      }
      key = next;
      const starts = times();
      let windowMs = Infinity;
      for (let k = 1; k < Math.min(starts.length, 50); k++) windowMs = Math.min(windowMs, starts[k] - starts[k - 1]);
      if (!Number.isFinite(windowMs)) windowMs = 60_000;
      const points = [];
      let i = 0;
      for (const ts of starts) {
        while (i < list.length && list[i].to != null && list[i].to <= ts) i += 1;
        const span = list[i];
        if (span && span.from < ts + windowMs && (span.to == null || span.to > ts)) {
          points.push({ time: chartTime(ts), value: 1 });
        }
      }
      series.setData(points);
      marked = points.length;
    },
    count: () => marked,
  };
}
