// Wires the page: server push → store → charts and panels. `window.__orderflow` exposes
// counters for the browser test and for debugging in the console.

import { connect } from './connection.js';
import { Store } from './store.js';
import { createTimeline } from './charts/timeline.js';
import { createPricePane } from './charts/price.js';
import { createObiPane } from './charts/obi.js';
import { createCvdPane } from './charts/cvd.js';
import { createHeatmap } from './charts/heatmap.js';
import { createDepthChart } from './charts/depth.js';
import { createLegend } from './panels/legend.js';
import { createFlow } from './flow/index.js';
import { createStatusLine } from './panels/status.js';
import { createIntegrityBand } from './charts/integrity.js';
import { createIntegrityWarning } from './panels/integrity.js';
import { createSignals } from './panels/signals.js';
import { createReplayBar } from './panels/replay.js';
import { createTimeframes } from './timeframes.js';
import { createTradeBars } from './charts/trade_bars.js';
import { colors } from './theme.js';
import { compact, fixed, decimalsOf } from './format.js';

const $ = (id) => document.getElementById(id);

const store = new Store();
const timeline = createTimeline($('timeline'), $('follow'));
let flow = null;
const price = createPricePane(timeline.chart, { volumeColor: (ts) => flow?.volumeColor(ts) });
const obi = createObiPane(timeline.chart);
const cvd = createCvdPane(timeline.chart);
const heatmap = createHeatmap(timeline.chart, price.candles, {
  clipInput: $('heat-clip'),
  windowMs: () => windowMs(Store.sorted(store.bars)),
  // `serve` (JSON files, no instrument) keeps no heatmap: never ask it for one.
  enabled: () => Boolean(store.status?.instrument),
  live: () => store.status?.phase === 'processing' || store.status?.phase === 'starting',
});
timeline.setPaneHeights([3.2, 1, 1]);
timeline.label(1, 'OBI', 'rgba(79, 195, 247, 0.6)');
timeline.label(2, 'CVD', 'rgba(240, 180, 41, 0.6)');
flow = createFlow(timeline.chart, price.candles, $('timeline').parentElement);
flow.delta.pane.setStretchFactor(0.7);
timeline.label(1, 'Δ delta', 'rgba(140, 151, 168, 0.6)');
const depth = createDepthChart($('depth-canvas'));
const status = createStatusLine();
const band = createIntegrityBand(timeline.chart);
const warning = createIntegrityWarning($('integrity'));
const signals = createSignals(timeline.chart, price.candles, $('signal-list'), $('signals-count'),
  () => windowMs(Store.sorted(store.bars)));
const replay = createReplayBar({ onError: (message) => status.setError(message) });
const timeframes = createTimeframes(store, $('tf'), { onReset: () => resetAll(), onUpdate: (detail) => updateAll(detail) });
// What the charts and the legend show: the store's bars, or those of a coarser timeframe.
const shown = timeframes.shown;
const legend = createLegend(timeline.chart, shown, { priceSeries: price.candles });
const debug = { snapshots: 0, updates: 0, connection: 'connecting' };
// Tick or volume bars, when the run makes them (`--tick-bars`, `--volume-bars`).
const tradeBars = createTradeBars($('trade-bars-card'), $('trade-bars'), $('trade-bars-title'));

function renderBook() {
  const { bids, asks } = store.depth;
  const decimals = decimalsOf([...bids, ...asks].slice(0, 20).map((l) => l[0]));
  const bestBid = bids[0]?.[0];
  const bestAsk = asks[0]?.[0];
  $('best-bid').textContent = fixed(bestBid, decimals);
  $('best-ask').textContent = fixed(bestAsk, decimals);
  $('spread').textContent = bestBid != null && bestAsk != null ? fixed(bestAsk - bestBid, decimals) : '—';
  const bidTotal = bids.reduce((s, l) => s + l[1], 0);
  const askTotal = asks.reduce((s, l) => s + l[1], 0);
  $('bid-total').textContent = bids.length ? compact(bidTotal) : '—';
  $('ask-total').textContent = asks.length ? compact(askTotal) : '—';
  $('imb-bid').parentElement.classList.toggle('none', bidTotal + askTotal === 0);
  $('imb-bid').style.width = `${bidTotal + askTotal > 0 ? (bidTotal / (bidTotal + askTotal)) * 100 : 50}%`;
  const mid = depth.mid();
  $('depth-mid').textContent = mid == null ? '—' : `mid ${fixed(mid, decimals + 1)}`;
}

function renderStatus() {
  let first = null;
  let last = null;
  for (const ts of store.bars.keys()) {
    if (first == null || ts < first) first = ts;
    if (last == null || ts > last) last = ts;
  }
  status.setStatus(store.status, first, last);
  renderIntegrity();
  replay.render(store.status);
}

function renderIntegrity() {
  const integrity = store.status?.integrity;
  warning.set(integrity);
  const times = () => [...new Set([...store.bars.keys(), ...store.metrics.keys()])].sort((a, b) => a - b);
  band.set(times, integrity?.uncertain, `${store.bars.size}:${store.metrics.size}`);
}

function windowMs(rows) {
  let smallest = Infinity;
  for (let i = 1; i < Math.min(rows.length, 50); i++) smallest = Math.min(smallest, rows[i][0] - rows[i - 1][0]);
  return Number.isFinite(smallest) ? smallest : 60_000;
}

function resetAll() {
  flow.setTimeframe(timeframes.coarser());
  const bars = Store.sorted(shown.bars);
  const metrics = Store.sorted(shown.metrics);
  price.setAll(bars);
  obi.setAll(metrics);
  cvd.setAll(metrics);
  timeline.setWindowMs(timeframes.current() ?? windowMs(bars.length ? bars : metrics));
  timeline.showRecent(Math.max(bars.length, metrics.length));
  $('empty').hidden = bars.length + metrics.length > 0;
  depth.set(store.depth);
  legend.reset();
  renderBook();
  renderStatus();
}

store.addEventListener('reset', () => {
  debug.snapshots += 1;
  const rows = Store.sorted(store.bars);
  timeframes.offer(store.status?.window_ms || windowMs(rows.length ? rows : Store.sorted(store.metrics)));
  timeframes.reset();
  if (store.status?.instrument) tradeBars.reset();
});

store.addEventListener('update', ({ detail }) => {
  debug.updates += 1;
  if (store.status?.window_ms) timeframes.offer(store.status.window_ms);
  timeframes.update(detail);
  if (store.status?.instrument) tradeBars.update();
});

function updateAll(detail) {
  const wasEmpty = price.counts().candles + obi.count() === 0;
  if (!price.upsert(detail.bars)) price.setAll(Store.sorted(shown.bars));
  if (!obi.upsert(detail.metrics)) obi.setAll(Store.sorted(shown.metrics));
  if (!cvd.upsert(detail.metrics)) cvd.setAll(Store.sorted(shown.metrics));
  if (wasEmpty && shown.bars.size + shown.metrics.size > 0) {
    resetAll();
    return;
  }
  timeline.follow(Math.max(shown.bars.size, shown.metrics.size));
  depth.set(store.depth);
  legend.refresh();
  renderBook();
  renderStatus();
}

connect('/api/stream', {
  onSnapshot: (message) => {
    flow.applySnapshot(message);
    store.applySnapshot(message);
  },
  onUpdate: (message) => {
    if (message.seq > store.seq) flow.applyUpdate(message);
    store.applyUpdate(message);
  },
  onState: (state) => {
    debug.connection = state;
    status.setConnection(state);
  },
});

window.__orderflow = {
  store,
  debug,
  /** Points each series holds and levels the depth chart drew. */
  counts: () => ({
    ...price.counts(),
    obi: obi.count(),
    cvd: cvd.count(),
    depthBids: depth.counts().bids,
    depthAsks: depth.counts().asks,
    uncertainBars: band.count(),
  }),
  signals: () => signals.count(),
  /** The visible time range of the charts (UTC seconds). */
  visibleRange: () => timeline.chart.timeScale().getVisibleRange(),
  lastBarTs: () => store.lastBar()?.[0] ?? null,
  /** What the footprint, the profiles and the bubbles drew in their last frame. */
  flow: () => flow.debug(),
  /** The bars the price pane shows (of the timeframe chosen). */
  shownBars: () => Store.sorted(shown.bars),
  shownMetrics: () => Store.sorted(shown.metrics),
  replay,
  heatmap: () => heatmap.debug(),
  /** Tick or volume bars held and drawn, and the last. */
  tradeBars: () => ({ count: tradeBars.count(), drawn: tradeBars.drawn(), last: tradeBars.last() }),
  heatmapProbe: (ms) => heatmap.probe(ms),
  connection: () => $('connection').dataset.state || debug.connection,
  colors,
};
