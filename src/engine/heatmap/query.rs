//! SPEC 7's answer: the held slices grouped into columns of a given width and price rows of a
//! given height, each value the mean over the column's present slices of a row's summed size.

use std::ops::Range;

use super::packed::{Key, side_of};
use super::store::HeatmapStore;
use crate::engine::book::BookSide;
use crate::engine::event::Millis;

/// What to answer (SPEC 7): the columns whose start lies in `[from, to)`, `step` ms wide (a
/// positive multiple of the slice length), and price rows `row` high (finite, > 0). The caller
/// checks the values; any other `step` or `row` gives no columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatmapQuery {
    pub from: Millis,
    pub to: Millis,
    pub step: i64,
    pub row: f64,
}

/// One price row of a column: `price = floor(p / row) * row` of its levels, and the mean
/// summed size of its bids and of its asks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatmapRow {
    pub price: f64,
    pub bid: f64,
    pub ask: f64,
}

/// One column: its start, and its rows by price ascending (rows with both values 0 left out).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapColumn {
    pub ts: Millis,
    pub rows: Vec<HeatmapRow>,
}

/// What the page draws over one column: the best bid and ask at the column's last present
/// slice, and the trades taken in its slices (volume and mean price per side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlayColumn {
    pub ts: Millis,
    pub best_bid: Option<f64>,
    pub best_ask: Option<f64>,
    pub buy_volume: f64,
    pub buy_vwap: Option<f64>,
    pub sell_volume: f64,
    pub sell_vwap: Option<f64>,
}

/// A column: its start and the held slices it covers, as indices from the store's first.
struct Span {
    ts: Millis,
    slices: Range<usize>,
}

impl HeatmapStore {
    /// The columns of `query` (SPEC 7) that hold a present slice, by time.
    ///
    /// One sweep over the changes of the range: each level's size is a run of slices until
    /// it changes, and a run adds `size × slices` to the column it lies in, so the time is
    /// that of the changes in range plus the levels alive at each column's end, whatever the
    /// zoom. Sizes are never subtracted, so no sum loses precision to cancellation.
    pub fn columns(&self, query: &HeatmapQuery) -> Vec<HeatmapColumn> {
        let mut columns = Vec::new();
        self.for_each_column(query, |ts, rows| {
            columns.push(HeatmapColumn {
                ts,
                rows: rows.to_vec(),
            })
        });
        columns
    }

    /// [`HeatmapStore::columns`] one at a time, by time, so that a wide answer is never held
    /// whole: `column(ts, rows)`.
    pub fn for_each_column(
        &self,
        query: &HeatmapQuery,
        mut column: impl FnMut(Millis, &[HeatmapRow]),
    ) {
        let spans = self.spans(query.from, query.to, query.step);
        let (Some(first), true) = (spans.first(), query.row.is_finite() && query.row > 0.0) else {
            return;
        };
        let start = first.slices.start;
        let block_len = self.block_len() as i64;
        let per_column = query.step / self.slice_ms();
        if per_column % block_len == 0 {
            return self.columns_of_blocks(query, &spans, column);
        }
        let mut sweep = Sweep::new(self, start);
        let mut rows_out = Vec::new();
        let mut cells: Vec<(f64, BookSide, f64)> = Vec::new();
        for (number, span) in spans.iter().enumerate() {
            let number = number as u32;
            for slice in span.slices.clone() {
                if slice != start {
                    sweep.apply(self, slice, number);
                }
            }
            sweep.close_column(span.slices.end, number);
            cells.clear();
            for key in sweep.touched.drain(..) {
                let total = std::mem::take(&mut sweep.levels[key as usize].total);
                let row = (self.price_of(key) / query.row).floor();
                cells.push((row, side_of(key), total));
            }
            cells.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let present = span.slices.len() as f64;
            rows(&cells, query.row, present, &mut rows_out);
            column(span.ts, &rows_out);
        }
    }

    /// Columns whose width is a whole number of blocks: each column held whole adds its
    /// blocks' sums; a column held in part (the first and last of the heatmap) is swept.
    fn columns_of_blocks(
        &self,
        query: &HeatmapQuery,
        spans: &[Span],
        mut column: impl FnMut(Millis, &[HeatmapRow]),
    ) {
        let block_len = self.block_len() as i64;
        let first = self.slices().start;
        let mut total = vec![0.0; self.key_count()];
        let mut touched: Vec<Key> = Vec::new();
        let mut rows_out = Vec::new();
        let mut cells: Vec<(f64, BookSide, f64)> = Vec::new();
        for span in spans {
            let start = first + span.slices.start as i64;
            let end = first + span.slices.end as i64;
            let blocks = start.div_euclid(block_len)..end.div_euclid(block_len);
            let whole = start % block_len == 0
                && end % block_len == 0
                && blocks.clone().all(|block| self.block(block).is_some());
            cells.clear();
            if whole {
                for block in blocks {
                    for (key, sum) in self.block(block).into_iter().flatten() {
                        if total[key as usize] == 0.0 {
                            touched.push(key);
                        }
                        total[key as usize] += sum;
                    }
                }
                for key in touched.drain(..) {
                    let sum = std::mem::take(&mut total[key as usize]);
                    cells.push(((self.price_of(key) / query.row).floor(), side_of(key), sum));
                }
            } else {
                for (key, sum) in self.sums(span.slices.clone()) {
                    cells.push(((self.price_of(key) / query.row).floor(), side_of(key), sum));
                }
            }
            cells.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            rows(&cells, query.row, span.slices.len() as f64, &mut rows_out);
            column(span.ts, &rows_out);
        }
    }

    /// Each level's sum of its size over the held slices `slices` (indices from the first).
    pub(super) fn sums(&self, slices: Range<usize>) -> Vec<(Key, f64)> {
        self.sums_with(slices, &mut Sweep::default())
    }

    /// [`HeatmapStore::sums`] in `sweep`, whose room is reused: the store sums a block at every
    /// minute of slices, and a sweep of a busy day's levels is larger than what the allocator
    /// keeps at hand (each new one would be fresh pages from the system).
    pub(super) fn sums_with(&self, slices: Range<usize>, sweep: &mut Sweep) -> Vec<(Key, f64)> {
        sweep.reset(self, slices.start);
        for slice in slices.start + 1..slices.end {
            sweep.apply(self, slice, 0);
        }
        sweep.close_column(slices.end, 0);
        let mut sums: Vec<(Key, f64)> = sweep
            .touched
            .iter()
            .map(|&key| (key, sweep.levels[key as usize].total))
            .collect();
        sums.sort_unstable_by_key(|(key, _)| *key);
        sums
    }

    /// The overlay of the columns of `[from, to)`, `step` wide, that hold a present slice.
    pub fn overlay(&self, from: Millis, to: Millis, step: i64) -> Vec<OverlayColumn> {
        let vwap = |notional: f64, volume: f64| (volume > 0.0).then(|| notional / volume);
        self.spans(from, to, step)
            .into_iter()
            .map(|span| {
                let last = self.mark(span.slices.end - 1);
                let (mut buy, mut buy_notional, mut sell, mut sell_notional) = (0.0, 0.0, 0.0, 0.0);
                for slice in span.slices {
                    let mark = self.mark(slice);
                    buy += mark.buy_volume;
                    buy_notional += mark.buy_notional;
                    sell += mark.sell_volume;
                    sell_notional += mark.sell_notional;
                }
                OverlayColumn {
                    ts: span.ts,
                    best_bid: last.best_bid,
                    best_ask: last.best_ask,
                    buy_volume: buy,
                    buy_vwap: vwap(buy_notional, buy),
                    sell_volume: sell,
                    sell_vwap: vwap(sell_notional, sell),
                }
            })
            .collect()
    }

    /// The columns `step` wide (epoch-aligned) whose start lies in `[from, to)` and that
    /// cover a held slice, with the held slices each covers. None unless `step` is a positive
    /// multiple of the slice length.
    fn spans(&self, from: Millis, to: Millis, step: i64) -> Vec<Span> {
        let slice_ms = self.slice_ms();
        if step <= 0 || step % slice_ms != 0 {
            return Vec::new();
        }
        let per_column = i128::from(step / slice_ms);
        let held = self.slices();
        let (first, end) = (i128::from(held.start), i128::from(held.end));
        let step = i128::from(step);
        let ceil_div = |a: i128, b: i128| -(-a).div_euclid(b);
        let lowest = ceil_div(i128::from(from), step).max(first.div_euclid(per_column));
        let beyond = ceil_div(i128::from(to), step).min(ceil_div(end, per_column));
        (lowest..beyond.max(lowest))
            .filter_map(|column| {
                let start = (column * per_column).max(first);
                let stop = ((column + 1) * per_column).min(end);
                (start < stop).then(|| Span {
                    ts: Millis::try_from(column * step).unwrap_or(Millis::MAX),
                    slices: (start - first) as usize..(stop - first) as usize,
                })
            })
            .collect()
    }
}

/// The rows of one column from its cells `(floor(p / row), side, size × slices)` sorted by
/// row: each side's sum over the row, divided by the number of present slices.
fn rows(cells: &[(f64, BookSide, f64)], row: f64, present: f64, rows: &mut Vec<HeatmapRow>) {
    rows.clear();
    let mut current: Option<(f64, f64, f64)> = None;
    let mut finish = |(number, bid, ask): (f64, f64, f64)| {
        rows.push(HeatmapRow {
            price: number * row,
            bid: bid / present,
            ask: ask / present,
        });
    };
    for &(number, side, total) in cells {
        let cell = match current {
            Some(cell) if cell.0 == number => cell,
            other => {
                if let Some(done) = other {
                    finish(done);
                }
                (number, 0.0, 0.0)
            }
        };
        current = Some(match side {
            BookSide::Bid => (number, cell.1 + total, cell.2),
            BookSide::Ask => (number, cell.1, cell.2 + total),
        });
    }
    if let Some(done) = current {
        finish(done);
    }
}

/// The sweep of [`HeatmapStore::columns`]: per level, its current run and the total of the
/// column in progress, side by side so that a change touches one cache line.
#[derive(Default)]
pub(super) struct Sweep {
    levels: Vec<Run>,
    /// The levels touched in this column.
    touched: Vec<Key>,
    /// Levels with a size.
    live: Vec<Key>,
    /// The sizes of the state the sweep starts from.
    start: Vec<f64>,
}

/// One level in the sweep.
#[derive(Clone, Copy)]
struct Run {
    /// Its current size (0: none).
    size: f64,
    /// Sum over the column's slices of its size.
    total: f64,
    /// The slice its current size holds since.
    since: u32,
    /// The column that last touched its total.
    stamp: u32,
    /// Where it is in `live`.
    position: u32,
}

const NOT_LIVE: u32 = u32::MAX;

impl Sweep {
    /// A sweep from the state of slice `start` (indices from the store's first).
    fn new(store: &HeatmapStore, start: usize) -> Self {
        let mut sweep = Sweep::default();
        sweep.reset(store, start);
        sweep
    }

    /// Starts the sweep over from the state of slice `start`, in the room it has.
    fn reset(&mut self, store: &HeatmapStore, start: usize) {
        let mut state = std::mem::take(&mut self.start);
        store.load_state(start, &mut state);
        self.start_from(&state, start);
        self.start = state;
    }

    /// Starts the sweep over from `state` (sizes by key), the state of slice `start`.
    pub(super) fn start_from(&mut self, state: &[f64], start: usize) {
        self.touched.clear();
        self.live.clear();
        self.levels.clear();
        self.levels.reserve(state.len());
        for (key, &held) in state.iter().enumerate() {
            let position = if held > 0.0 {
                self.live.push(key as Key);
                (self.live.len() - 1) as u32
            } else {
                NOT_LIVE
            };
            self.levels.push(Run {
                size: held,
                total: 0.0,
                since: start as u32,
                stamp: u32::MAX,
                position,
            });
        }
    }

    /// Makes room for `keys` levels; the new ones have no size.
    pub(super) fn cover(&mut self, keys: usize) {
        if self.levels.len() < keys {
            let none = Run {
                size: 0.0,
                total: 0.0,
                since: 0,
                stamp: u32::MAX,
                position: NOT_LIVE,
            };
            self.levels.resize(keys, none);
        }
    }

    /// Applies the changes of `slice` to a sweep kept running from one column to the next
    /// ([`Sweep::take_column`]).
    pub(super) fn apply_running(&mut self, store: &HeatmapStore, slice: usize) {
        self.apply(store, slice, 0);
    }

    /// Ends the column at slice `end`: each level's sum of its size over the column, by key,
    /// as [`HeatmapStore::sums`] gives it. The sweep goes on from `end` with the sums at zero.
    pub(super) fn take_column(&mut self, end: usize) -> Vec<(Key, f64)> {
        self.close_column(end, 0);
        let levels = &mut self.levels;
        let mut sums: Vec<(Key, f64)> = self
            .touched
            .drain(..)
            .map(|key| {
                let level = &mut levels[key as usize];
                level.stamp = u32::MAX;
                (key, std::mem::take(&mut level.total))
            })
            .collect();
        sums.sort_unstable_by_key(|(key, _)| *key);
        sums
    }

    /// Applies the changes of `slice`, in column `column`: each level that changes closes its
    /// run.
    fn apply(&mut self, store: &HeatmapStore, slice: usize, column: u32) {
        let slice = slice as u32;
        for (key, new) in store.changes(slice as usize) {
            let level = &mut self.levels[key as usize];
            let old = level.size;
            level.size = new;
            let since = std::mem::replace(&mut level.since, slice);
            if old > 0.0 {
                if slice > since {
                    level.total += old * f64::from(slice - since);
                    if level.stamp != column {
                        level.stamp = column;
                        self.touched.push(key);
                    }
                }
                if new <= 0.0 {
                    let at = std::mem::replace(&mut level.position, NOT_LIVE) as usize;
                    self.live.swap_remove(at);
                    if let Some(&moved) = self.live.get(at) {
                        self.levels[moved as usize].position = at as u32;
                    }
                }
            } else if new > 0.0 {
                level.position = self.live.len() as u32;
                self.live.push(key);
            }
        }
    }

    /// Closes the runs of the live levels at `end`, the column's end.
    fn close_column(&mut self, end: usize, column: u32) {
        let end = end as u32;
        for &key in &self.live {
            let level = &mut self.levels[key as usize];
            if end > level.since {
                level.total += level.size * f64::from(end - level.since);
                if level.stamp != column {
                    level.stamp = column;
                    self.touched.push(key);
                }
            }
            level.since = end;
        }
    }
}
