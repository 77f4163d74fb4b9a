//! The state of a replay in event order: the processor every event ends in, and what shows
//! it (the outputs, the pace, the progress).

use std::sync::atomic::AtomicBool;

use indicatif::ProgressBar;

use crate::engine::Processor;

use super::emit::Emitter;
use super::pace::Pacer;
use super::player::Player;

/// How often (in events) the loop looks at the clock when running at full speed.
pub(super) const CLOCK_EVERY: u64 = 256;

/// The state of the run in event order: the processor every event ends in, and what shows it.
pub(super) struct State<'c> {
    pub(super) processor: Processor,
    pub(super) emitter: Emitter,
    pub(super) pacer: Pacer,
    pub(super) progress: ProgressBar,
    /// Rows read from the files done.
    pub(super) rows_before: u64,
    pub(super) rows_estimate: u64,
    /// Events applied so far, for the cadence of [`State::tick`].
    pub(super) events: u64,
    /// Set when the run is told to stop.
    pub(super) cancel: &'c AtomicBool,
    /// The player of a replay under control (`run`, `demo`; SPEC 8); `None` for `process`.
    pub(super) player: Option<Player>,
}
