//! The live feed: the state the web UI shows, and server push of its changes.
//!
//! API CONTRACT: the pipeline calls `LiveFeed::new`, `publish` and `set_status`; the web work
//! fills in the internals (a store of all bars, a tokio broadcast of updates) and may add more.

use crate::engine::{Bar, Depth, MetricBar, Millis};

/// Where the run stands, for the status line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    pub instrument: String,
    /// Requested range, ms: [start, end).
    pub start: Millis,
    pub end: Millis,
    /// 0.0 ..= 1.0, estimated from rows read.
    pub progress: f64,
    /// Timestamp of the last event processed (the replay clock).
    pub replay_ts: Option<Millis>,
    pub rows_per_sec: f64,
    pub rows_read: u64,
    pub phase: Phase,
    /// Free text for the user ("replaying 3 files", an error, ...).
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Starting,
    Processing,
    Done,
    Failed,
}

/// A change to the state: bars and metric bars touched since the last update (oldest first;
/// each replaces the bar of its window), the current depth and status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub bars: Vec<Bar>,
    pub metric_bars: Vec<MetricBar>,
    pub depth: Depth,
    pub status: Status,
}

/// Shared handle to the live state; cheap to clone.
#[derive(Clone)]
pub struct LiveFeed {
    _todo: (),
}

impl LiveFeed {
    pub fn new(_status: Status) -> Self {
        todo!()
    }
    /// Merges `update` into the state and pushes it to connected clients.
    pub fn publish(&self, _update: Update) {
        todo!()
    }
}
