// Trades at price on the page: the footprint, the volume profiles, the delta row and the big
// prints, fed by the push stream's footprints, extras and prints (SPEC 6).

import { colors } from '../theme.js';
import { FlowStore } from './store.js';
import { ShownFlow } from './coarse.js';
import { View } from './view.js';
import { createFootprint } from './footprint.js';
import { createProfiles } from './profile.js';
import { createBubbles } from './bubbles.js';
import { createDeltaPane } from './delta.js';
import { createControls } from './controls.js';

/** How often the automatic big-print filter is asked again, ms. */
const MIN_SIZE_EVERY = 10_000;

/**
 * @param chart the timeline chart; `candles` its candlestick series (pane 0)
 * @param container the element the settings bar goes into
 */
export function createFlow(chart, candles, container) {
  const flow = new FlowStore();
  // What is drawn: the run's footprints, or those of the timeframe chosen.
  const shown = new ShownFlow(flow);
  const settings = { rowTicks: 'auto', ratio: 3, sessionProfile: true };
  const view = new View(chart, candles, shown, settings);
  const candleColors = candles.options();
  const setMode = (mode) => {
    controls.setMode(mode);
    // Under the footprint the candle is a faint outline: the cells are the bar.
    candles.applyOptions(mode === 'footprint'
      ? { upColor: 'rgba(0,0,0,0)', downColor: 'rgba(0,0,0,0)', wickUpColor: 'rgba(38,166,154,0.45)', wickDownColor: 'rgba(239,83,80,0.45)' }
      : { upColor: candleColors.upColor, downColor: candleColors.downColor, wickUpColor: candleColors.wickUpColor, wickDownColor: candleColors.wickDownColor });
  };
  const footprint = createFootprint(view, setMode);
  const profiles = createProfiles(view);
  const bubbles = createBubbles(view);
  for (const part of [profiles, footprint, bubbles]) candles.attachPrimitive(part.primitive);
  const delta = createDeltaPane(chart, 1);
  const redraw = () => {
    footprint.primitive.redraw();
    profiles.primitive.redraw();
    bubbles.primitive.redraw();
  };
  const controls = createControls(container, settings, {
    onChange: redraw,
    onMinSize: (size) => flow.setMinSize(size),
  });

  const resetDelta = () => delta.setAll([...shown.extras.values()].sort((a, b) => a[0] - b[0]));
  flow.addEventListener('reset', () => {
    shown.rebuild();
    resetDelta();
    redraw();
  });
  flow.addEventListener('update', () => redraw());
  flow.addEventListener('prints', () => {
    if (flow.autoMinSize) controls.setAutoMinSize(flow.minSize);
    redraw();
  });
  setInterval(() => flow.refreshMinSize(), MIN_SIZE_EVERY);

  return {
    flow,
    delta,
    applySnapshot: (message) => flow.applySnapshot(message),
    applyUpdate(message) {
      flow.applyUpdate(message);
      const touched = [...(message.footprints ?? []).map(([ts]) => ts), ...(message.extras ?? []).map((row) => row[0])];
      const extras = shown.tf ? shown.touch(touched) : message.extras ?? [];
      if (shown.tf) redraw();
      if (!delta.upsert(extras)) resetDelta();
    },
    /** Shows the footprints, profiles and deltas of timeframe `tf` (ms; null: the run's own). */
    setTimeframe(tf) {
      if ((tf || null) === shown.tf) return;
      shown.setTimeframe(tf);
      resetDelta();
      redraw();
    },
    /** The volume bar's colour: by the bar's delta (buy vs sell), not by open vs close. */
    volumeColor: (ts) => {
      const d = shown.delta(ts);
      return d == null ? null : d >= 0 ? colors.upVolume : colors.downVolume;
    },
    /** What was drawn in the last frame (for the browser test). */
    debug: () => ({
      mode: footprint.mode(),
      footprint: footprint.drawn,
      profile: profiles.drawn.visible,
      session: profiles.drawn.session,
      bubbles: bubbles.drawn.count,
      minSize: flow.minSize,
      tick: flow.tick,
      deltaBars: delta.count(),
      timeframe: shown.windowMs,
      spacing: view.barSpacing(),
    }),
  };
}
