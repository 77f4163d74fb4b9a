// Legend: OHLCV, OBI and CVD of the bar under the crosshair, or of the newest bar.

import { colors } from '../theme.js';
import { compact, fixed, utc, decimalsOf } from '../format.js';

export function createLegend(chart, store, { priceSeries }) {
  const el = (id) => document.getElementById(id);
  const fields = ['legend-time', 'lg-o', 'lg-h', 'lg-l', 'lg-c', 'lg-chg', 'lg-v', 'lg-obi', 'lg-cvd'].map(el);
  const [time, o, h, l, c, chg, v, obi, cvd] = fields;
  let hoveredTs = null;
  let decimals = 2;

  const show = (bar, metric) => {
    const ts = bar?.[0] ?? metric?.[0];
    time.textContent = ts == null ? '—' : utc(ts, true);
    if (bar) {
      const [, open, high, low, close, volume] = bar;
      const color = close >= open ? colors.up : colors.down;
      for (const [node, value] of [[o, open], [h, high], [l, low], [c, close]]) {
        node.textContent = fixed(value, decimals);
        node.style.color = color;
      }
      const change = open ? ((close - open) / open) * 100 : 0;
      chg.textContent = `${change >= 0 ? '+' : ''}${change.toFixed(2)}%`;
      chg.style.color = color;
      v.textContent = compact(volume);
    } else {
      for (const node of [o, h, l, c, v, chg]) node.textContent = node === chg ? '' : '—';
    }
    if (metric) {
      const [, oo, oh, ol, oc, co, ch, cl, cc] = metric;
      obi.textContent = `${fixed(oc, 3)}  (o ${fixed(oo, 3)} h ${fixed(oh, 3)} l ${fixed(ol, 3)})`;
      cvd.textContent = `${compact(cc)}  (o ${compact(co)} h ${compact(ch)} l ${compact(cl)})`;
      cvd.style.color = cc >= 0 ? colors.up : colors.down;
    } else {
      obi.textContent = '—';
      cvd.textContent = '—';
    }
  };

  const refresh = () => {
    if (hoveredTs != null && (store.bars.has(hoveredTs) || store.metrics.has(hoveredTs))) {
      show(store.bars.get(hoveredTs), store.metrics.get(hoveredTs));
    } else {
      show(store.lastBar(), store.lastMetric());
    }
  };

  chart.subscribeCrosshairMove((param) => {
    hoveredTs = param.time != null ? param.time * 1000 : null;
    refresh();
  });

  return {
    refresh,
    /** Re-reads the price precision after a snapshot. */
    reset() {
      decimals = priceSeries.options().priceFormat?.precision ?? decimalsOf([...store.bars.values()].slice(-50).map((r) => r[4]));
      refresh();
    },
  };
}
