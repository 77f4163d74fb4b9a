//! What the sampler hands on: the slices sampled, as changes from one slice's state to the
//! next, and each slice's mark.

use crate::engine::book::BookSide;

/// Slice index of `ts`: `floor(ts / slice_ms)` (epoch-aligned, also before 1970).
#[inline]
pub fn slice_of(ts: i64, slice_ms: i64) -> i64 {
    ts.div_euclid(slice_ms)
}

/// What the page draws over the heatmap for one slice: the best bid and ask of its state, and
/// the trades taken in it (display only: not part of SPEC 7's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SliceMark {
    pub best_bid: Option<f64>,
    pub best_ask: Option<f64>,
    pub buy_volume: f64,
    /// Sum of price × size of the buys, for their mean price.
    pub buy_notional: f64,
    pub sell_volume: f64,
    pub sell_notional: f64,
}

/// A level whose size differs between two consecutive slice states: its size in the later
/// one (0 when it is gone).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelChange {
    pub side: BookSide,
    pub price: f64,
    pub size: f64,
}

/// Consecutive slices sampled since the last [`HeatmapSampler::take`]: slice `first + i`
/// changed `changes[offsets[i]..offsets[i + 1]]` from the slice before it (the first slice
/// ever sampled, from an empty book) and has `marks[i]`.
///
/// `first` is set even when the batch is empty: it is where the next slice goes, so that a
/// consumer who holds later slices (the run started a file over from an earlier state) knows
/// to drop them.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceBatch {
    pub first: i64,
    pub offsets: Vec<usize>,
    pub changes: Vec<LevelChange>,
    pub marks: Vec<SliceMark>,
}

impl SliceBatch {
    pub(super) fn new(first: i64) -> Self {
        SliceBatch {
            first,
            offsets: vec![0],
            changes: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Number of slices.
    pub fn len(&self) -> usize {
        self.marks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// The changes of the `i`-th slice of the batch.
    pub fn changes_of(&self, i: usize) -> &[LevelChange] {
        &self.changes[self.offsets[i]..self.offsets[i + 1]]
    }
}
