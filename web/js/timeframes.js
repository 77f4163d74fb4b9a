// Timeframes: the bars shown in a multiple of the run's window (1m, 5m, 15m, 1h, 4h, 1d over a
// 1-minute run), without reprocessing. The server aggregates (`?tf=SECONDS` on /api/bars and
// /api/metrics, the one implementation, see engine/timeframe.rs); the page fetches the coarse
// bars after a snapshot and refetches those touched by each update.
//
// `shown` is what the charts and the legend read: the store's own maps at the run's window,
// else the coarse ones, with the same interface (bars, metrics, lastBar, lastMetric).

const CHOICES = [
  ['1s', 1_000], ['5s', 5_000], ['15s', 15_000], ['1m', 60_000], ['5m', 300_000],
  ['15m', 900_000], ['1h', 3_600_000], ['4h', 14_400_000], ['1d', 86_400_000],
];

const newest = (map) => {
  let last = null;
  for (const row of map.values()) if (!last || row[0] > last[0]) last = row;
  return last;
};

export function createTimeframes(store, select, { onReset, onUpdate }) {
  let base = null; // the run's window, ms
  let tf = null; // the timeframe shown when coarser than the run's window, ms
  let generation = 0;
  let since = null; // the oldest coarse window an update touched, waiting to be fetched
  let fetching = false;
  const coarse = { bars: new Map(), metrics: new Map() };

  const shown = {
    get bars() { return tf ? coarse.bars : store.bars; },
    get metrics() { return tf ? coarse.metrics : store.metrics; },
    lastBar: () => (tf ? newest(coarse.bars) : store.lastBar()),
    lastMetric: () => (tf ? newest(coarse.metrics) : store.lastMetric()),
  };

  const fetchRows = async (from) => {
    const query = `tf=${tf / 1000}${from == null ? '' : `&since=${from}`}`;
    const get = (path) => fetch(`${path}?${query}`).then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.statusText))));
    const [bars, metrics] = await Promise.all([get('/api/bars'), get('/api/metrics')]);
    return { bars, metrics };
  };

  const reload = async () => {
    const mine = ++generation;
    if (!tf) {
      onReset();
      return;
    }
    const rows = await fetchRows(null);
    if (mine !== generation) return;
    coarse.bars = new Map(rows.bars.map((r) => [r[0], r]));
    coarse.metrics = new Map(rows.metrics.map((r) => [r[0], r]));
    onReset();
  };

  const pump = async () => {
    if (fetching || since == null || !tf) return;
    fetching = true;
    const mine = generation;
    const from = since;
    since = null;
    try {
      const rows = await fetchRows(from);
      if (mine === generation) {
        for (const r of rows.bars) coarse.bars.set(r[0], r);
        for (const r of rows.metrics) coarse.metrics.set(r[0], r);
        onUpdate({ bars: rows.bars, metrics: rows.metrics });
      }
    } finally {
      fetching = false;
      if (since != null) pump();
    }
  };

  const offer = (windowMs) => {
    if (!windowMs || windowMs === base) return;
    base = windowMs;
    const keep = select.value;
    select.replaceChildren();
    const choices = CHOICES.filter(([, ms]) => ms >= base && ms % base === 0);
    if (!choices.some(([, ms]) => ms === base)) choices.unshift([`${base / 1000}s`, base]);
    for (const [label, ms] of choices) select.add(new Option(label, String(ms)));
    select.value = choices.some(([, ms]) => String(ms) === keep) ? keep : String(base);
    select.hidden = choices.length < 2;
  };

  select.addEventListener('change', () => {
    const ms = Number(select.value);
    tf = ms > base ? ms : null;
    reload();
  });

  return {
    shown,
    /** The run's window (from the status, or the spacing of the bars under `serve`). */
    offer,
    current: () => tf ?? base,
    /** The timeframe shown when coarser than the run's window, else null. */
    coarser: () => tf,
    /** After a snapshot of the store. */
    reset: reload,
    /** After an update of the store with these changed rows. */
    update(detail) {
      if (!tf) {
        onUpdate(detail);
        return;
      }
      // Depth and status at once; the coarse bars the update touched once fetched.
      onUpdate({ bars: [], metrics: [] });
      for (const row of [...detail.bars, ...detail.metrics]) {
        const start = Math.floor(row[0] / tf) * tf;
        since = since == null ? start : Math.min(since, start);
      }
      pump();
    },
  };
}
