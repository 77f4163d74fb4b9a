//! Where a run stands (instrument, range, progress, phase, message): the status line of the
//! terminal and the web UI, shown to every output in each frame.

use crate::engine::{Millis, Uncertain};

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
    /// What the message numbers and the book's prices say (SPEC 10.2).
    pub integrity: IntegrityStatus,
}

/// The integrity of the book so far, for the status (SPEC 10.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrityStatus {
    pub gaps: u64,
    pub resets: u64,
    pub heartbeats: u64,
    pub crossed: u64,
    /// The first examples of each kind.
    pub examples: Vec<IntegrityExample>,
    /// When the book was uncertain, within the range: `[from, to)`, `to` `None` while it
    /// still is (a gap not yet followed by a snapshot).
    pub uncertain: Vec<Uncertain>,
}

/// One integrity finding: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityExample {
    pub file: String,
    pub row_id: i64,
    /// `gap`, `reset`, `heartbeat` or `crossed`.
    pub kind: &'static str,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Starting,
    Processing,
    Done,
    Failed,
}

impl Phase {
    /// The lowercase name used in the HTTP API.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Processing => "processing",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }
}
