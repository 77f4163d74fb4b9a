// Node test of the page's footprint math (web/js/flow/rows.js): `node web/tests/flow-rows.mjs`.
import assert from 'node:assert/strict';
import { tickOf, groupRows, mergeGrouped, valueArea, imbalances, pocIndex, topShareSize } from '../js/flow/rows.js';

assert.equal(tickOf([95917.5, 95917.6, 95918.3], 1).toFixed(1), '0.1');
assert.equal(tickOf([100.5, 101, 102.5], 1), 0.5);

// Grouping by 2 ticks of 0.5: 100 and 100.5 share a bucket.
const grouped = groupRows([[100, 1, 0], [100.5, 2, 1], [101, 0, 4]], 0.5, 2);
assert.deepEqual(grouped.map((r) => [r.price, r.buy, r.sell]), [[100, 3, 1], [101, 0, 4]]);

// A profile of grouped bars sums them per bucket and leaves the bars as they were.
const a = groupRows([[100, 1, 0], [101, 0, 2]], 0.5, 2);
const b = groupRows([[100.5, 1, 1]], 0.5, 2);
assert.deepEqual(mergeGrouped([a, b]).map((r) => [r.price, r.buy, r.sell]), [[100, 2, 1], [101, 0, 2]]);
assert.deepEqual(a.map((r) => [r.price, r.buy, r.sell]), [[100, 1, 0], [101, 0, 2]]);

// POC: lowest price on a tie.
const row = (k, buy, sell) => ({ k, price: k, buy, sell });
assert.equal(pocIndex([row(1, 2, 0), row(2, 1, 1), row(3, 0, 1)]), 0);

// Value area: from the POC (row 2: 10 of 20), add the larger neighbour until 70 % (14) is in:
// below (3) → 13, then above (2) beats the next below (1) → 15.
const va = valueArea([row(0, 1, 0), row(1, 3, 0), row(2, 5, 5), row(3, 2, 0), row(4, 4, 0)]);
assert.deepEqual(va, { poc: 2, low: 1, high: 3 });

// Diagonal imbalances: buy at k vs sell at k-1, ratio 3; three in a row are stacked.
const rows = [row(0, 0, 1), row(1, 3, 1), row(2, 3, 0), row(3, 3, 0), row(4, 1, 0)];
const { marks, stacks } = imbalances(rows, 1, 3, 3);
assert.deepEqual(marks.map((m) => m.buy), [false, true, true, false, false]);
assert.deepEqual(stacks, []);
const rows2 = [row(0, 0, 1), row(1, 3, 1), row(2, 3, 1), row(3, 3, 1)];
assert.deepEqual(imbalances(rows2, 1, 3, 3).stacks, [{ side: 'buy', from: 1, to: 3 }]);
// Sell at k vs buy at k+1.
assert.deepEqual(imbalances([row(0, 0, 9), row(1, 3, 0)], 1, 3, 3).marks.map((m) => m.sell), [true, false]);

// The largest 0.5 % of 1000 sizes: the 5 largest.
assert.equal(topShareSize(Array.from({ length: 1000 }, (_, i) => i + 1)), 996);
console.log('flow-rows: ok');
