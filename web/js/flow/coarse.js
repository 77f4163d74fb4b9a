// Trades at price in the timeframe shown: the run's own footprints and bar extras, or those of
// a coarser timeframe made here from them, as engine/timeframe.rs makes them for
// `/api/footprint?tf=` and `/api/bar_extras?tf=` (rows merged by exact price, each sum taken
// fine window after fine window in time order, so the numbers are the server's to the bit).
//
// `ShownFlow` reads like the FlowStore it wraps (footprints, extras, sortedTimes, windowMs,
// tick, prints, delta): the footprint, the profiles, the bubbles and the delta row read it.

/** The coarse footprint and bar extras of the fine windows `times` (oldest first) of `flow`. */
function coarseWindow(flow, ts, times) {
  const rows = new Map();
  let buy = 0;
  let sell = 0;
  let trades = 0;
  let first = true;
  for (const fine of times) {
    for (const [price, b, s] of flow.footprints.get(fine) ?? []) {
      const row = rows.get(price);
      if (row) {
        row[1] += b;
        row[2] += s;
      } else rows.set(price, [price, b, s]);
    }
    const extra = flow.extras.get(fine);
    if (extra) {
      buy = first ? extra[1] : buy + extra[1];
      sell = first ? extra[2] : sell + extra[2];
      trades += extra[4];
      first = false;
    }
  }
  const footprint = [...rows.values()].sort((a, b) => a[0] - b[0]);
  return { footprint, extra: first ? null : [ts, buy, sell, buy - sell, trades] };
}

function lowerBound(sorted, value) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ShownFlow {
  constructor(flow) {
    this.base = flow;
    /** The timeframe shown when coarser than the run's window, ms; null for the run's own. */
    this.tf = null;
    this.coarse = { footprints: new Map(), extras: new Map(), sortedTimes: [] };
    this.changes = 0;
  }

  /** Changes with every change of the footprints shown (caches compare it). */
  get version() { return `${this.base.version}:${this.tf}:${this.changes}`; }

  get footprints() { return this.tf ? this.coarse.footprints : this.base.footprints; }
  get extras() { return this.tf ? this.coarse.extras : this.base.extras; }
  get sortedTimes() { return this.tf ? this.coarse.sortedTimes : this.base.sortedTimes; }
  get windowMs() { return this.tf ?? this.base.windowMs; }
  get tick() { return this.base.tick; }
  get decimals() { return this.base.decimals; }
  get prints() { return this.base.prints; }
  get minSize() { return this.base.minSize; }

  /** The bar delta of window `ts` in the timeframe shown, or null. */
  delta(ts) {
    const row = this.extras.get(ts);
    return row ? row[3] : null;
  }

  /** Shows the timeframe `tf` (ms, coarser than the run's window; null for the run's own). */
  setTimeframe(tf) {
    this.tf = tf || null;
    this.rebuild();
  }

  /** Makes every coarse window again (after a snapshot or a change of timeframe). */
  rebuild() {
    this.coarse = { footprints: new Map(), extras: new Map(), sortedTimes: [] };
    this.changes += 1;
    if (!this.tf) return;
    const starts = new Set(this.base.sortedTimes.map((ts) => Math.floor(ts / this.tf) * this.tf));
    this.touch([...starts]);
  }

  /**
   * Makes again the coarse windows of the fine windows `fineTimes` (after an update); returns
   * their bar extras, oldest first ([] at the run's own timeframe).
   */
  touch(fineTimes) {
    if (!this.tf) return [];
    const tf = this.tf;
    const starts = [...new Set(fineTimes.map((ts) => Math.floor(ts / tf) * tf))].sort((a, b) => a - b);
    const times = this.base.sortedTimes;
    this.changes += 1;
    const changed = [];
    let added = false;
    for (const start of starts) {
      const from = lowerBound(times, start);
      const to = lowerBound(times, start + tf);
      const { footprint, extra } = coarseWindow(this.base, start, times.slice(from, to));
      if (!this.coarse.footprints.has(start)) added = true;
      this.coarse.footprints.set(start, footprint);
      if (extra) {
        this.coarse.extras.set(start, extra);
        changed.push(extra);
      }
    }
    if (added) this.coarse.sortedTimes = [...this.coarse.footprints.keys()].sort((a, b) => a - b);
    return changed;
  }
}
