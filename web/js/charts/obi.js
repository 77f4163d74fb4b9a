// OBI pane: order book imbalance (-1 … +1) as candlesticks in blue tones (pane 1).

import { colors } from '../theme.js';
import { chartTime } from '../format.js';
import { syncedSeries } from './timeline.js';

const LWC = window.LightweightCharts;

export function createObiPane(chart) {
  const series = chart.addSeries(LWC.CandlestickSeries, {
    upColor: colors.obiUp,
    downColor: colors.obiDown,
    wickUpColor: colors.obiUp,
    wickDownColor: colors.obiDown,
    borderVisible: false,
    priceFormat: { type: 'price', precision: 3, minMove: 0.001 },
  }, 1);
  series.createPriceLine({ price: 0, color: 'rgba(140, 151, 168, 0.35)', lineWidth: 1, lineStyle: LWC.LineStyle.Dashed, axisLabelVisible: false });
  series.priceScale().applyOptions({ scaleMargins: { top: 0.12, bottom: 0.08 } });

  const sync = syncedSeries(series, ([ts, open, high, low, close]) => ({ time: chartTime(ts), open, high, low, close }));
  return { series, setAll: sync.setAll, upsert: sync.upsert, count: sync.length };
}
