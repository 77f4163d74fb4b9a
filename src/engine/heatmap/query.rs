//! SPEC 7's answer: the held slices grouped into columns of a given width and price rows of a
//! given height, each value the mean over the column's present slices of a row's summed size.

use std::ops::Range;

use super::packed::{Key, side_of};
use super::store::HeatmapStore;
use super::sweep::Sweep;
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
        let mut sweep = Sweep::default();
        sweep.reset(|state| self.load_state(start, state), start);
        let mut rows_out = Vec::new();
        let mut cells: Vec<(f64, BookSide, f64)> = Vec::new();
        for (number, span) in spans.iter().enumerate() {
            let number = number as u32;
            for slice in span.slices.clone() {
                if slice != start {
                    sweep.apply(self.changes(slice), slice, number);
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
        sweep.reset(|state| self.load_state(slices.start, state), slices.start);
        for slice in slices.start + 1..slices.end {
            sweep.apply(self.changes(slice), slice, 0);
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
