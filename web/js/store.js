// The client's copy of the server state, fed by `snapshot` and `update` events.
// Rows keep the server's schemas: bars [ts, o, h, l, c, v], metrics [ts, obi o h l c, cvd o h l c].

export class Store extends EventTarget {
  constructor() {
    super();
    this.seq = 0;
    this.bars = new Map();
    this.metrics = new Map();
    this.depth = { bids: [], asks: [] };
    this.status = null;
  }

  /** Replaces everything; listeners get `reset`. */
  applySnapshot(message) {
    this.seq = message.seq;
    this.bars = new Map(message.bars.map((row) => [row[0], row]));
    this.metrics = new Map(message.metrics.map((row) => [row[0], row]));
    this.depth = message.depth;
    this.status = message.status;
    this.dispatchEvent(new CustomEvent('reset'));
  }

  /** Merges changed bars; listeners get `update` with the changed rows. */
  applyUpdate(message) {
    if (message.seq <= this.seq) return;
    this.seq = message.seq;
    for (const row of message.bars) this.bars.set(row[0], row);
    for (const row of message.metrics) this.metrics.set(row[0], row);
    this.depth = message.depth;
    this.status = message.status;
    this.dispatchEvent(new CustomEvent('update', { detail: { bars: message.bars, metrics: message.metrics } }));
  }

  /** Rows of a map, oldest first. */
  static sorted(map) {
    return [...map.values()].sort((a, b) => a[0] - b[0]);
  }

  lastBar() {
    let last = null;
    for (const row of this.bars.values()) if (!last || row[0] > last[0]) last = row;
    return last;
  }

  lastMetric() {
    let last = null;
    for (const row of this.metrics.values()) if (!last || row[0] > last[0]) last = row;
    return last;
  }
}
