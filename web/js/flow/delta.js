// The delta row under the candles: each bar's delta (buy − sell volume) as a histogram in a
// pane of its own, green above zero and red below.

import { colors } from '../theme.js';
import { chartTime } from '../format.js';
import { syncedSeries } from '../charts/timeline.js';

const LWC = window.LightweightCharts;

export function createDeltaPane(chart, paneIndex) {
  const series = chart.addSeries(LWC.HistogramSeries, {
    priceFormat: { type: 'volume' },
    lastValueVisible: true,
    priceLineVisible: false,
  }, chart.panes().length);
  // Added last, then swapped up to `paneIndex` (`moveTo` needs the pane drawn once first);
  // the panes it passes keep their order.
  for (let i = chart.panes().length - 1; i > paneIndex; i--) chart.swapPanes(i - 1, i);
  const pane = series.getPane();
  const sync = syncedSeries(series, ([ts, , , delta]) => ({
    time: chartTime(ts),
    value: delta,
    color: delta >= 0 ? colors.upVolume : colors.downVolume,
  }));
  return {
    series,
    pane,
    setAll: (rows) => sync.setAll(rows),
    upsert: (rows) => sync.upsert(rows),
    count: () => sync.length(),
  };
}
