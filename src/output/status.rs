//! Where a run stands (instrument, range, progress, phase, message, and for a replay under
//! control where it plays): the status line of the terminal and the web UI, shown to every
//! output in each frame.

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
    /// Where a replay under control stands (`run`, `demo`); `None` under `serve`.
    pub playback: Option<Playback>,
}

/// Where a replay under control stands (SPEC 8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Playback {
    pub playing: bool,
    /// A multiple of real time; `None` is as fast as the machine can.
    pub speed: Option<f64>,
    /// The instant (ms) below which every event has been processed.
    pub position: Millis,
    /// The instant below which the recordings have been read (events kept for going back);
    /// a seek below it does not read the recordings again.
    pub loaded_to: Millis,
    /// The run's bar window, ms: the page offers its multiples as timeframes.
    pub window_ms: Millis,
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
    /// A seek is being carried out: the state is not yet the one asked for.
    Seeking,
    Done,
    /// Stopped by a signal (Ctrl-C) before the whole range was read: the state is what was
    /// processed until then.
    Interrupted,
    Failed,
}

impl Phase {
    /// The lowercase name used in the HTTP API.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Processing => "processing",
            Phase::Seeking => "seeking",
            Phase::Done => "done",
            Phase::Interrupted => "interrupted",
            Phase::Failed => "failed",
        }
    }
}
