// CVD pane: cumulative volume delta (close of each window) as a baseline around zero (pane 2).

import { colors } from '../theme.js';
import { chartTime } from '../format.js';
import { syncedSeries } from './timeline.js';

const LWC = window.LightweightCharts;

export function createCvdPane(chart) {
  const series = chart.addSeries(LWC.BaselineSeries, {
    baseValue: { type: 'price', price: 0 },
    topLineColor: colors.up,
    topFillColor1: colors.cvdUpFill1,
    topFillColor2: colors.cvdUpFill2,
    bottomLineColor: colors.down,
    bottomFillColor1: colors.cvdDownFill1,
    bottomFillColor2: colors.cvdDownFill2,
    lineWidth: 2,
  }, 2);
  series.priceScale().applyOptions({ scaleMargins: { top: 0.12, bottom: 0.08 } });

  const sync = syncedSeries(series, (row) => ({ time: chartTime(row[0]), value: row[8] }));
  return {
    series,
    setAll(rows) {
      // CVD sums sizes, so its decimals are noise: fewer the larger it gets.
      const largest = Math.max(0, ...rows.slice(-500).map((r) => Math.abs(r[8])));
      const decimals = largest >= 100 ? 1 : largest >= 1 ? 2 : 4;
      series.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals } });
      sync.setAll(rows);
    },
    upsert: sync.upsert,
    count: sync.length,
  };
}
