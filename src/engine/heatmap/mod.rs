//! The book through time (SPEC 7): the book sampled at the end of every slice, kept so that
//! any range answers at any zoom.
//!
//! One idea per file: `sampler.rs` watches the events and, at each slice end, writes what
//! changed in the book since the slice before (a [`SliceBatch`], `batch.rs`); `store.rs` keeps
//! the slices as deltas between consecutive slices (packed by `packed.rs`) with a full state
//! every [`KEYFRAME_EVERY`] slices and each level's sum per minute block (the time pyramid);
//! `query.rs` turns a range, a column width and a row height into SPEC 7's columns.

mod batch;
mod packed;
mod query;
mod sampler;
mod store;
mod sweep;

pub use batch::{LevelChange, SliceBatch, SliceMark, slice_of};
pub use query::{HeatmapColumn, HeatmapQuery, HeatmapRow, OverlayColumn};
pub use sampler::HeatmapSampler;
pub use store::{HeatmapStore, KEYFRAME_EVERY, SharedStore};

#[cfg(test)]
mod tests;
