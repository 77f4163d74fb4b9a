// Price pane: candlesticks with the volume histogram beneath them (pane 0).

import { colors } from '../theme.js';
import { chartTime, decimalsOf } from '../format.js';
import { syncedSeries } from './timeline.js';

const LWC = window.LightweightCharts;

/** `volumeColor(ts)`, when given and not null, colours a bar's volume (by its delta). */
export function createPricePane(chart, { volumeColor } = {}) {
  const candles = chart.addSeries(LWC.CandlestickSeries, {
    upColor: colors.up,
    downColor: colors.down,
    wickUpColor: colors.up,
    wickDownColor: colors.down,
    borderVisible: false,
  }, 0);
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.24 } });

  const volume = chart.addSeries(LWC.HistogramSeries, {
    priceFormat: { type: 'volume' },
    priceScaleId: 'volume',
    lastValueVisible: false,
    priceLineVisible: false,
  }, 0);
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

  const candleSync = syncedSeries(candles, ([ts, open, high, low, close]) => ({ time: chartTime(ts), open, high, low, close }));
  const volumeSync = syncedSeries(volume, ([ts, open, , , close, value]) => ({
    time: chartTime(ts),
    value,
    color: volumeColor?.(ts) ?? (close >= open ? colors.upVolume : colors.downVolume),
  }));

  return {
    candles,
    setAll(rows) {
      const decimals = decimalsOf(rows.slice(-200).flatMap((r) => [r[1], r[4]]));
      candles.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals } });
      candleSync.setAll(rows);
      volumeSync.setAll(rows);
    },
    upsert: (rows) => candleSync.upsert(rows) && volumeSync.upsert(rows),
    counts: () => ({ candles: candleSync.length(), volume: volumeSync.length() }),
  };
}
