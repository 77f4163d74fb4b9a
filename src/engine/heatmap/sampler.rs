//! Sampling the book at every slice end (SPEC 7), as the changes from one slice's state to the
//! next.

use super::batch::{LevelChange, SliceBatch, SliceMark, slice_of};
use super::store::SharedStore;
use crate::engine::book::{BookSide, OrderBook};
use crate::engine::event::{Level, Millis, Side, Trade};

/// Samples the book at each slice end: slice `k` covers `[k·S, (k+1)·S)` and its state is the
/// book after every event with a timestamp below `(k+1)·S` (SPEC 7).
///
/// The run calls [`HeatmapSampler::before_event`] before it applies each event it does not
/// ignore: an event at `ts` closes every slice that ends at or before `ts`, whose state is
/// therefore the book as it stands. Slices are *present* from the one that holds START, once
/// the book has been initialised, to the one that holds the last in-range event, which
/// [`HeatmapSampler::finish`] closes at the end of the run. So the slices sampled are
/// consecutive, each one exactly once.
#[derive(Debug, Clone)]
pub struct HeatmapSampler {
    slice_ms: i64,
    /// The next slice to sample; none below the slice that holds START.
    next: i64,
    /// The state of the last slice sampled, per side, best first (empty before the first).
    sampled_bids: Vec<Level>,
    sampled_asks: Vec<Level>,
    /// Whether a book row was applied since the last slice sampled.
    dirty: bool,
    /// Trades of the slice in progress.
    open: SliceMark,
    pending: SliceBatch,
    /// Where a large batch goes at once, without waiting for the next take: a run at full
    /// speed samples some 20,000 slices between two frames.
    sink: Option<SharedStore>,
}

/// Changes a batch holds before it goes to the sink.
const SINK_AFTER: usize = if cfg!(test) { 64 } else { 16_384 };

impl HeatmapSampler {
    /// A sampler of slices of `slice_ms` (>= 1) for a range that starts at `start`.
    pub fn new(slice_ms: i64, start: Millis) -> Self {
        let slice_ms = slice_ms.max(1);
        let next = slice_of(start, slice_ms);
        HeatmapSampler {
            slice_ms,
            next,
            sampled_bids: Vec::new(),
            sampled_asks: Vec::new(),
            dirty: true,
            open: SliceMark::default(),
            pending: SliceBatch::new(next),
            sink: None,
        }
    }

    /// Appends large batches straight to `sink` (see [`HeatmapSampler::take`]).
    pub fn set_sink(&mut self, sink: SharedStore) {
        self.sink = Some(sink);
    }

    pub fn slice_ms(&self) -> i64 {
        self.slice_ms
    }

    /// Before an event at `ts` is applied: samples every slice that ends at or before `ts`
    /// with `book` (when `initialised`: otherwise those slices are not present).
    pub fn before_event(&mut self, ts: Millis, book: &OrderBook, initialised: bool) {
        self.sample_through(slice_of(ts, self.slice_ms) - 1, book, initialised);
    }

    /// A book row was applied.
    pub fn note_book_row(&mut self) {
        self.dirty = true;
    }

    /// An in-range trade was taken (after [`HeatmapSampler::before_event`]).
    pub fn note_trade(&mut self, trade: &Trade) {
        let notional = trade.price * trade.size;
        match trade.side {
            Side::Buy => {
                self.open.buy_volume += trade.size;
                self.open.buy_notional += notional;
            }
            Side::Sell => {
                self.open.sell_volume += trade.size;
                self.open.sell_notional += notional;
            }
        }
    }

    /// At the end of the run: samples the slices through the one that holds `last_ts`, the
    /// last in-range event (none without one).
    pub fn finish(&mut self, last_ts: Option<Millis>, book: &OrderBook, initialised: bool) {
        if let Some(ts) = last_ts {
            self.sample_through(slice_of(ts, self.slice_ms), book, initialised);
        }
    }

    /// Shows the store what [`HeatmapSampler::finish`] would give now (the slices through the
    /// one that holds `last_ts`, the last in-range event), as its provisional end: the state
    /// of a run whose END is now (SPEC 8, after a seek or a step), which the store drops once
    /// the real slices come. Call right after a [`HeatmapSampler::take`]; nothing without a
    /// sink.
    pub fn show_tail(&self, last_ts: Option<Millis>, book: &OrderBook, initialised: bool) {
        let Some(sink) = &self.sink else {
            return;
        };
        let mut probe = HeatmapSampler {
            sink: None,
            ..self.clone()
        };
        probe.finish(last_ts, book, initialised);
        let tail = probe.take();
        if tail.is_empty() {
            return;
        }
        let mut store = sink
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(store) = store.as_mut() {
            store.show_tail(&tail);
        }
    }

    /// The slices sampled since the last call.
    pub fn take(&mut self) -> SliceBatch {
        std::mem::replace(&mut self.pending, SliceBatch::new(self.next))
    }

    fn sample_through(&mut self, upto: i64, book: &OrderBook, initialised: bool) {
        if upto < self.next {
            return;
        }
        if !initialised {
            // Not present: skipped, and the trades seen so far belong to no slice.
            self.next = upto + 1;
            self.open = SliceMark::default();
            if self.pending.is_empty() {
                self.pending.first = self.next;
            }
            return;
        }
        let best_bid = book.best_bid().map(|level| level.price);
        let best_ask = book.best_ask().map(|level| level.price);
        for k in self.next..=upto {
            if k == self.next && self.dirty {
                let changes = &mut self.pending.changes;
                diff(BookSide::Bid, &mut self.sampled_bids, book, changes);
                diff(BookSide::Ask, &mut self.sampled_asks, book, changes);
                self.dirty = false;
            }
            let trades = std::mem::take(&mut self.open);
            self.pending.offsets.push(self.pending.changes.len());
            self.pending.marks.push(SliceMark {
                best_bid,
                best_ask,
                ..trades
            });
        }
        self.next = upto + 1;
        if self.pending.changes.len() >= SINK_AFTER {
            if let Some(sink) = &self.sink {
                let batch = std::mem::replace(&mut self.pending, SliceBatch::new(self.next));
                let mut store = sink
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(store) = store.as_mut() {
                    store.append(&batch);
                }
            }
        }
    }
}

/// Writes into `out` how `book`'s `side` differs from `old` (both best first), and makes `old`
/// the book's side.
fn diff(side: BookSide, old: &mut Vec<Level>, book: &OrderBook, out: &mut Vec<LevelChange>) {
    // Best first: bids by price descending, asks ascending.
    let first = |a: f64, b: f64| match side {
        BookSide::Bid => a > b,
        BookSide::Ask => a < b,
    };
    let mut old_levels = old.iter().peekable();
    let mut new_levels = book.levels(side).peekable();
    loop {
        match (old_levels.peek(), new_levels.peek()) {
            (None, None) => break,
            (Some(before), Some(now)) if before.price == now.price => {
                if before.size != now.size {
                    out.push(LevelChange {
                        side,
                        price: now.price,
                        size: now.size,
                    });
                }
                old_levels.next();
                new_levels.next();
            }
            (Some(before), Some(now)) if first(now.price, before.price) => {
                out.push(LevelChange {
                    side,
                    price: now.price,
                    size: now.size,
                });
                new_levels.next();
            }
            (None, Some(now)) => {
                out.push(LevelChange {
                    side,
                    price: now.price,
                    size: now.size,
                });
                new_levels.next();
            }
            (Some(before), _) => {
                out.push(LevelChange {
                    side,
                    price: before.price,
                    size: 0.0,
                });
                old_levels.next();
            }
        }
    }
    old.clear();
    old.extend(book.levels(side));
}
