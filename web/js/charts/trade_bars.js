// Tick or volume bars (`run --tick-bars N` / `--volume-bars V`): bars of trades, not of time,
// in a chart of their own. Bar i sits at i on its axis (two bars may end in the same second),
// labelled with the time of its last trade. Fetched from /api/trade_bars: all after a
// snapshot, then from the last bar on (it may be open; a seek back leaves fewer). A run
// without them answers `size: null`: the card stays hidden, asked again every half minute
// (a page may ask before the run's first frame).

import { colors, fontFamily } from '../theme.js';
import { compact, decimalsOf, utc } from '../format.js';

const LWC = window.LightweightCharts;
/** Least time between two fetches while updates stream in, ms; and while the run has none. */
const EVERY_MS = 1000;
const ABSENT_EVERY_MS = 30_000;

export function createTradeBars(card, container, title) {
  let chart = null;
  let candles = null;
  let volume = null;
  let bars = []; // rows as /api/trade_bars gives them
  let absent = false;
  let busy = false;
  let again = false;
  let resets = 0; // snapshots seen
  let loaded = -1; // the snapshot the bars held follow
  let last = 0;
  let timer = null;

  // Bar i (from 0) is drawn at time i + 1: lightweight-charts wants increasing times.
  const lastTs = (time) => bars[time - 1]?.[1];
  const label = (time, withSeconds) => {
    const ts = lastTs(time);
    return ts == null ? '' : utc(ts, withSeconds);
  };

  function ensureChart() {
    if (chart) return;
    chart = LWC.createChart(container, {
      autoSize: true,
      layout: { background: { type: 'solid', color: colors.bg }, textColor: colors.text, fontFamily, fontSize: 11, attributionLogo: false },
      grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } },
      rightPriceScale: { borderColor: colors.border },
      timeScale: {
        borderColor: colors.border,
        rightOffset: 3,
        tickMarkFormatter: (time) => label(time, false).slice(-5),
      },
      localization: { timeFormatter: (time) => `bar ${time} · last trade ${label(time, true)} UTC` },
    });
    candles = chart.addSeries(LWC.CandlestickSeries, {
      upColor: colors.up, downColor: colors.down, wickUpColor: colors.up, wickDownColor: colors.down, borderVisible: false,
    });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.26 } });
    volume = chart.addSeries(LWC.HistogramSeries, {
      priceFormat: { type: 'volume' }, priceScaleId: 'volume', lastValueVisible: false, priceLineVisible: false,
    });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  }

  const candle = (row, i) => ({ time: i + 1, open: row[2], high: row[3], low: row[4], close: row[5] });
  const bar = (row, i) => ({
    time: i + 1,
    value: row[6],
    // Coloured by the bar's delta, as the volume under the candles.
    color: row[7] >= row[8] ? colors.upVolume : colors.downVolume,
  });

  function draw(first, redraw) {
    if (redraw) {
      const decimals = decimalsOf(bars.slice(-200).flatMap((r) => [r[2], r[5]]));
      candles.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals } });
      candles.setData(bars.map(candle));
      volume.setData(bars.map(bar));
      chart.timeScale().setVisibleLogicalRange({ from: bars.length - 120, to: bars.length + 3 });
      return;
    }
    for (let i = first; i < bars.length; i++) {
      candles.update(candle(bars[i], i));
      volume.update(bar(bars[i], i));
    }
  }

  async function load() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    last = performance.now();
    try {
      const mine = resets;
      const whole = loaded !== mine;
      const from = whole ? 0 : Math.max(0, bars.length - 1);
      const answer = await fetch(`/api/trade_bars?from=${from}`);
      if (!answer.ok) throw new Error(`${answer.status} ${answer.statusText}`);
      const body = await answer.json();
      absent = body.size == null;
      if (absent) return;
      const had = whole ? 0 : bars.length;
      bars = (whole ? [] : bars.slice(0, body.first)).concat(body.bars);
      card.hidden = false;
      ensureChart();
      const size = body.size.trades != null ? `${body.size.trades} trades` : `volume ${compact(body.size.volume)}`;
      title.textContent = `${size} · ${bars.length} bars`;
      card.querySelector('h2').textContent = body.size.trades != null ? 'Tick bars' : 'Volume bars';
      // Fewer than before, or from the start: drawn anew (a seek went back).
      draw(body.first, whole || body.first === 0 || body.first + 1 < had);
      loaded = mine;
    } catch (error) {
      console.warn('trade bars', error);
    } finally {
      busy = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  /** A fetch soon, at most one a second. */
  function schedule() {
    if (timer) return;
    const wait = Math.max(0, (absent ? ABSENT_EVERY_MS : EVERY_MS) - (performance.now() - last));
    timer = setTimeout(() => {
      timer = null;
      load();
    }, wait);
  }

  return {
    /** After a snapshot: every bar afresh. */
    reset() {
      resets += 1;
      schedule();
    },
    /** After an update: the new and changed bars. */
    update: schedule,
    count: () => bars.length,
    drawn: () => (candles ? candles.data().length : 0),
    last: () => bars[bars.length - 1] ?? null,
  };
}
