// The client's copy of trades at price: footprints and bar extras by window (from the push
// stream's `footprints` and `extras`), and the big prints (fetched from `/api/prints` with the
// size filter, then kept up from the stream's numbered `prints`).

import { decimalsOf } from '../format.js';
import { tickOf } from './rows.js';

export class FlowStore extends EventTarget {
  constructor() {
    super();
    /** ts → [[price, buy, sell], ...] */
    this.footprints = new Map();
    /** ts → [ts, buy_volume, sell_volume, delta, trades] */
    this.extras = new Map();
    /** Big prints by number in the run (from the stream) or by `ts:side` (fetched). */
    this.prints = new Map();
    /** Prints made in the run so far, as far as the stream told. */
    this.printCount = 0;
    /** The size filter of big prints in use, and whether it follows the data (auto). */
    this.minSize = null;
    this.autoMinSize = true;
    this.tick = null;
    this.decimals = 0;
    this.windowMs = 60_000;
    this.sortedTimes = [];
    /** Grows with every change of the footprints (caches compare it). */
    this.version = 0;
  }

  applySnapshot(message) {
    this.footprints = new Map((message.footprints ?? []).map(([ts, rows]) => [ts, rows]));
    this.extras = new Map((message.extras ?? []).map((row) => [row[0], row]));
    this.prints = new Map();
    this.printCount = 0;
    this.version += 1;
    this.reindex();
    this.dispatchEvent(new CustomEvent('reset'));
    this.refreshMinSize();
  }

  applyUpdate(message) {
    for (const [ts, rows] of message.footprints ?? []) this.footprints.set(ts, rows);
    if ((message.footprints ?? []).length) this.version += 1;
    for (const row of message.extras ?? []) this.extras.set(row[0], row);
    const prints = message.prints;
    if (prints && prints.rows.length) {
      prints.rows.forEach((row, i) => {
        const key = prints.first + i;
        if (this.minSize != null && row[3] >= this.minSize) this.prints.set(key, row);
        else this.prints.delete(key);
      });
      this.printCount = prints.first + prints.rows.length;
    }
    if ((message.footprints ?? []).some(([ts]) => !this.sortedTimesSet?.has(ts))) this.reindex();
    this.dispatchEvent(new CustomEvent('update', { detail: { footprints: message.footprints ?? [] } }));
  }

  /** Windows sorted, the price step and the bar window, after new windows came in. */
  reindex() {
    this.sortedTimes = [...this.footprints.keys()].sort((a, b) => a - b);
    this.sortedTimesSet = new Set(this.sortedTimes);
    const recent = this.sortedTimes.slice(-60).flatMap((ts) => this.footprints.get(ts).map((r) => r[0]));
    this.decimals = decimalsOf(recent.slice(-400));
    this.tick = recent.length ? tickOf(recent, this.decimals) : null;
    let smallest = Infinity;
    for (let i = 1; i < Math.min(this.sortedTimes.length, 200); i++) {
      smallest = Math.min(smallest, this.sortedTimes[i] - this.sortedTimes[i - 1]);
    }
    if (Number.isFinite(smallest) && smallest > 0) this.windowMs = smallest;
  }

  /** The bar delta of window `ts` (buy − sell), or null. */
  delta(ts) {
    const row = this.extras.get(ts);
    return row ? row[3] : null;
  }

  /** Sets the size filter (null = auto: the largest 0.5 % of the prints so far). */
  setMinSize(size) {
    this.autoMinSize = size == null;
    if (this.autoMinSize) this.refreshMinSize();
    else this.loadPrints(size);
  }

  /** Asks the server for the auto filter, then for the prints above it. */
  async refreshMinSize() {
    if (!this.autoMinSize) return;
    try {
      const answer = await (await fetch('/api/print_size?top=0.005')).json();
      if (!this.autoMinSize) return;
      if (answer.min_size == null) return;
      if (answer.min_size !== this.minSize) await this.loadPrints(answer.min_size);
    } catch (error) {
      console.warn('print sizes', error);
    }
  }

  async loadPrints(minSize) {
    this.minSize = minSize;
    try {
      const rows = await (await fetch(`/api/prints?min_size=${encodeURIComponent(minSize)}`)).json();
      if (this.minSize !== minSize) return;
      // Fetched prints carry no number: they are keyed by their time and side, and the
      // stream's numbered ones replace those they repeat.
      const numbered = new Set([...this.prints.entries()]
        .filter(([key]) => typeof key === 'number').map(([, row]) => `${row[0]}:${row[1]}`));
      this.prints = new Map([...this.prints.entries()]
        .filter(([key, row]) => typeof key === 'number' && row[3] >= minSize));
      for (const row of rows) {
        const key = `${row[0]}:${row[1]}`;
        if (!numbered.has(key)) this.prints.set(key, row);
      }
      this.dispatchEvent(new CustomEvent('prints'));
    } catch (error) {
      console.warn('prints', error);
    }
  }
}
