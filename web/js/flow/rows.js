// Pure math over footprint rows [price, buy, sell] (SPEC 6.2): display grouping, profiles,
// the value area and imbalances. No DOM, no chart: `web/tests/flow-rows.mjs` tests it in Node.

/** The price step of these prices: the smallest gap between two of them, on the grid of
 *  their decimals (0.1 for 95917.5 and 95917.6; 0.5 for prices that move by halves). */
export function tickOf(prices, decimals) {
  const unit = 10 ** -decimals;
  const units = [...new Set(prices.map((p) => Math.round(p / unit)))].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < units.length; i++) gap = Math.min(gap, units[i] - units[i - 1]);
  return Number.isFinite(gap) && gap > 0 ? gap * unit : unit;
}

/** The bucket of `price` for rows of `ticks` ticks: its lowest price, a whole number of ticks. */
export function bucketOf(price, tick, ticks) {
  const k = Math.round(price / tick);
  return Math.floor(k / ticks) * ticks;
}

/**
 * Rows grouped into buckets of `ticks` ticks (display only), by price ascending:
 * `{ k, price, buy, sell }` with `k` the bucket in ticks and `price` its lowest price.
 */
export function groupRows(rows, tick, ticks) {
  const byBucket = new Map();
  for (const [price, buy, sell] of rows) {
    const k = bucketOf(price, tick, ticks);
    const row = byBucket.get(k);
    if (row) {
      row.buy += buy;
      row.sell += sell;
    } else {
      byBucket.set(k, { k, price: Number((k * tick).toFixed(10)), buy, sell });
    }
  }
  return [...byBucket.values()].sort((a, b) => a.k - b.k);
}

/** The volume profile of bars already grouped (`groupRows` of each, same buckets). */
export function mergeGrouped(bars) {
  const byBucket = new Map();
  for (const rows of bars) {
    for (const { k, price, buy, sell } of rows) {
      const row = byBucket.get(k);
      if (row) {
        row.buy += buy;
        row.sell += sell;
      } else {
        byBucket.set(k, { k, price, buy, sell });
      }
    }
  }
  return [...byBucket.values()].sort((a, b) => a.k - b.k);
}

/** Index of the point of control: the largest `buy + sell`, the lowest price on a tie. */
export function pocIndex(rows) {
  let best = -1;
  for (let i = 0; i < rows.length; i++) {
    if (best < 0 || rows[i].buy + rows[i].sell > rows[best].buy + rows[best].sell) best = i;
  }
  return best;
}

/**
 * The value area of `rows` (by price ascending): start at the POC and add the larger of the
 * next row above and the next row below (the one above on a tie) until `share` of the volume
 * is inside. Returns `{ poc, low, high }` as indices (inclusive), or null without rows.
 */
export function valueArea(rows, share = 0.7) {
  const poc = pocIndex(rows);
  if (poc < 0) return null;
  const volume = (i) => rows[i].buy + rows[i].sell;
  const total = rows.reduce((sum, r) => sum + r.buy + r.sell, 0);
  let low = poc;
  let high = poc;
  let inside = volume(poc);
  while (inside < share * total && (low > 0 || high < rows.length - 1)) {
    const above = high < rows.length - 1 ? volume(high + 1) : -1;
    const below = low > 0 ? volume(low - 1) : -1;
    if (above >= below) inside += volume(++high);
    else inside += volume(--low);
  }
  return { poc, low, high };
}

/**
 * Diagonal imbalances of grouped rows (buckets of `ticks` ticks, by price ascending): the buy
 * at a row against the sell one row below, and the sell at a row against the buy one row
 * above. A side is imbalanced when it is at least `ratio` times the other (300 % = 3), both
 * non-zero (a missing row has no volume to compare with). Returns per row `{ buy, sell }`
 * flags, and the stacked imbalances: `min` or more neighbouring rows imbalanced on the same
 * side, as `{ side, from, to }` (indices, inclusive).
 */
export function imbalances(rows, ticks, ratio = 3, min = 3) {
  const index = new Map(rows.map((row, i) => [row.k, i]));
  const marks = rows.map((row) => {
    const below = rows[index.get(row.k - ticks)];
    const above = rows[index.get(row.k + ticks)];
    return {
      buy: !!below && row.buy > 0 && below.sell > 0 && row.buy >= ratio * below.sell,
      sell: !!above && row.sell > 0 && above.buy > 0 && row.sell >= ratio * above.buy,
    };
  });
  const stacks = [];
  for (const side of ['buy', 'sell']) {
    let from = -1;
    for (let i = 0; i <= rows.length; i++) {
      const continues = i < rows.length && marks[i][side] && from >= 0 && rows[i].k === rows[i - 1].k + ticks;
      if (continues) continue;
      if (from >= 0 && i - from >= min) stacks.push({ side, from, to: i - 1 });
      from = i < rows.length && marks[i][side] ? i : -1;
    }
  }
  return { marks, stacks };
}

/** The size at or above which a print is among the largest `share` of `sizes` (at least one). */
export function topShareSize(sizes, share = 0.005) {
  if (!sizes.length) return null;
  const sorted = [...sizes].sort((a, b) => a - b);
  const top = Math.min(sorted.length, Math.max(1, Math.ceil(sorted.length * share)));
  return sorted[sorted.length - top];
}
