//! The book through time (SPEC 7): the book sampled at the end of every slice, kept so that
//! any range answers at any zoom.
//!
//! One idea per file: `sampler.rs` watches the events and, at each slice end, writes what
//! changed in the book since the slice before (a [`SliceBatch`]); `store.rs` keeps the slices
//! as deltas between consecutive slices with a full state every [`KEYFRAME_EVERY`] slices;
//! `query.rs` turns a range, a column width and a row height into SPEC 7's columns.

mod packed;
mod query;
mod sampler;
mod store;

pub use query::{HeatmapColumn, HeatmapQuery, HeatmapRow, OverlayColumn};
pub use sampler::{HeatmapSampler, SliceBatch, SliceMark};
pub use store::{HeatmapStore, KEYFRAME_EVERY};

/// A store shared with its readers (the web server); `None` until a run starts one.
pub type SharedStore = std::sync::Arc<std::sync::RwLock<Option<HeatmapStore>>>;

/// Slice index of `ts`: `floor(ts / slice_ms)` (epoch-aligned, also before 1970).
#[inline]
pub fn slice_of(ts: i64, slice_ms: i64) -> i64 {
    ts.div_euclid(slice_ms)
}

#[cfg(test)]
mod tests;
