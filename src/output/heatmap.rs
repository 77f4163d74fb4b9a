//! The heatmap kept for the web (SPEC 7): an [`Output`] that appends each frame's slices to a
//! store the server reads.

use std::sync::PoisonError;

use super::frame::{Frame, Output, WriteError};
use crate::engine::heatmap::{HeatmapStore, SharedStore};

/// Shared handle to the run's heatmap store; cheap to clone. Empty (`None`) until a run with
/// a heatmap starts it, so a server without one says so.
#[derive(Clone, Default)]
pub struct HeatmapFeed {
    store: SharedStore,
}

impl HeatmapFeed {
    pub fn new() -> Self {
        HeatmapFeed::default()
    }

    /// Starts an empty heatmap of slices of `slice_ms`, replacing any before.
    pub fn start(&self, slice_ms: i64) {
        *self.store.write().unwrap_or_else(PoisonError::into_inner) =
            Some(HeatmapStore::new(slice_ms));
    }

    /// The store itself, for a processor to append large batches to at once.
    pub fn shared(&self) -> SharedStore {
        self.store.clone()
    }

    /// Runs `read` on the store (`None` without a heatmap). Frames wait meanwhile: keep it
    /// short.
    pub fn read<R>(&self, read: impl FnOnce(Option<&HeatmapStore>) -> R) -> R {
        read(
            self.store
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref(),
        )
    }

    fn append(&self, frame: &Frame<'_>) {
        let Some(batch) = &frame.changes.heatmap else {
            return;
        };
        let mut store = self.store.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = store.as_mut() {
            store.show(batch);
        }
    }
}

impl Output for HeatmapFeed {
    /// A replay's read-ahead and seeks give the same slices again: the store repeats them
    /// ([`HeatmapStore::repeating`]).
    fn replaying(&mut self) {
        let mut store = self.store.write().unwrap_or_else(PoisonError::into_inner);
        *store = store.take().map(HeatmapStore::repeating);
    }

    fn show(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.append(frame);
        Ok(())
    }

    /// The batch of a frame after a start-over begins where the state went back to: appending
    /// it drops the slices after that first.
    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.append(frame);
        Ok(())
    }
}
