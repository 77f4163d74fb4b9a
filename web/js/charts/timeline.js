// The time chart: one lightweight-charts chart whose panes (price + volume, OBI, CVD) share
// the time scale and the crosshair. Follows the newest bar unless the user scrolled back.

import { colors, fontFamily } from '../theme.js';
import { utc } from '../format.js';

const LWC = window.LightweightCharts;
/** Bars shown when data first arrives. */
const INITIAL_BARS = 160;
const MIN_BARS = 40;

export function createTimeline(container, followButton) {
  const chart = LWC.createChart(container, {
    autoSize: true,
    layout: {
      background: { type: 'solid', color: colors.bg },
      textColor: colors.text,
      fontFamily,
      fontSize: 11,
      attributionLogo: false,
      panes: { separatorColor: colors.border, separatorHoverColor: 'rgba(91, 156, 255, 0.25)', enableResize: true },
    },
    grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } },
    crosshair: {
      mode: LWC.CrosshairMode.Normal,
      vertLine: { color: colors.crosshair, labelBackgroundColor: '#263043' },
      horzLine: { color: colors.crosshair, labelBackgroundColor: '#263043' },
    },
    rightPriceScale: { borderColor: colors.border },
    timeScale: { borderColor: colors.border, timeVisible: true, secondsVisible: false, rightOffset: 4 },
    localization: { timeFormatter: (time) => utc(time * 1000, true) + ' UTC' },
  });

  const timeScale = chart.timeScale();
  let following = true;
  const atLatest = () => timeScale.scrollPosition() > -2;
  timeScale.subscribeVisibleLogicalRangeChange(() => {
    following = atLatest();
    followButton.hidden = following;
  });
  followButton.addEventListener('click', () => {
    timeScale.scrollToRealTime();
    following = true;
  });

  /** The newest bars in view: the first MIN_BARS fill in from the right, then the spacing
   *  shrinks until INITIAL_BARS fit, so a young run is neither a few huge candles nor a sliver. */
  let laidOut = 0; // the bar count the last `showLatest` laid out
  const showLatest = (count) => {
    laidOut = count;
    const shown = Math.min(Math.max(count, MIN_BARS), INITIAL_BARS);
    timeScale.setVisibleLogicalRange({ from: count - shown, to: count + 3 });
  };

  /** Puts a small label in the top left corner of a pane. */
  const label = (paneIndex, text, color = colors.label) => {
    const pane = chart.panes()[paneIndex];
    if (pane) {
      LWC.createTextWatermark(pane, {
        horzAlign: 'left',
        vertAlign: 'top',
        lines: [{ text, color, fontSize: 11, fontFamily, fontStyle: '600' }],
      });
    }
  };

  return {
    chart,
    label,
    /** Relative pane heights, top to bottom. */
    setPaneHeights(factors) {
      chart.panes().forEach((pane, i) => pane.setStretchFactor(factors[i] ?? 1));
    },
    /** After the first data: show the newest bars at a readable spacing. */
    showRecent(count) {
      if (count === 0) return;
      showLatest(count);
      following = true;
      followButton.hidden = true;
    },
    /** Seconds on the time axis when bars are shorter than a minute. */
    setWindowMs(windowMs) {
      timeScale.applyOptions({ secondsVisible: windowMs > 0 && windowMs < 60_000 });
    },
    isFollowing: () => following,
    /** Keeps the newest of `count` bars in view unless the user scrolled back. */
    follow(count) {
      if (!following) return;
      // Only when bars came: an update of the same bars (paused, or the status) keeps the
      // trader's zoom.
      if (count < INITIAL_BARS) {
        if (count !== laidOut) showLatest(count);
      }
      else timeScale.scrollToRealTime();
    },
  };
}

/**
 * Keeps a series equal to a keyed set of rows, with the cheapest call for each change:
 * `update` for the newest bar, a historical `update` for a known older bar, `setData` when an
 * older bar is new (overlapping recordings).
 */
export function syncedSeries(series, toPoint) {
  let lastTime = -Infinity;
  const times = new Set();
  return {
    series,
    setAll(rows) {
      const points = rows.map(toPoint);
      series.setData(points);
      times.clear();
      for (const p of points) times.add(p.time);
      lastTime = points.length ? points[points.length - 1].time : -Infinity;
    },
    /** @returns false when the caller must `setAll` (an older bar appeared). */
    upsert(rows) {
      for (const row of rows) {
        const point = toPoint(row);
        if (point.time >= lastTime) {
          series.update(point);
          lastTime = point.time;
        } else if (times.has(point.time)) {
          series.update(point, true);
        } else {
          return false;
        }
        times.add(point.time);
      }
      return true;
    },
    length: () => series.data().length,
  };
}
