//! What leaves the engine: the seed's JSON files, the live feed for the web, the run summary.
//!
//! The outputs of a run all stand behind [`Output`]: the run shows each of them a [`Frame`]
//! at most once per `--emit-ms` and once at the end. A new output (a store, a heatmap) is a
//! new file with an `impl Output`, and one line where `replay::run` lists its outputs.

pub mod json_files;
pub mod live;
pub mod seed_json;
pub mod target;
pub mod temp;

use crate::engine::{Changes, Depth, Processor};
use json_files::WriteError;
use live::Status;

/// The state of a run at one moment, as every output is shown it.
pub struct Frame<'a> {
    /// The processor: every bar and metric bar of the run, the book.
    pub processor: &'a Processor,
    /// The bars and metric bars changed since the last frame, oldest first.
    pub changes: &'a Changes,
    pub depth: &'a Depth,
    pub status: &'a Status,
}

/// One output of a run.
pub trait Output {
    /// Shows the state of `frame`, which follows the frame shown before.
    ///
    /// # Errors
    /// [`WriteError`] when an output file cannot be written: the run stops.
    fn show(&mut self, frame: &Frame<'_>) -> Result<(), WriteError>;

    /// The state went back (a file started over from the state before it): shows it afresh,
    /// whole.
    ///
    /// # Errors
    /// As [`Output::show`].
    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError>;
}
