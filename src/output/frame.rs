//! What every output of a run is shown: a [`Frame`] of the run's state, through the
//! [`Output`] trait, and the [`WriteError`] that stops the run when an output cannot be written.

use std::io;
use std::path::PathBuf;

use super::status::Status;
use crate::engine::{Changes, Depth, PrintChanges, Processor};

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

    /// Whether the output takes the prints of the frames' changes (a run whose outputs do not
    /// keeps none of them).
    fn wants_prints(&self) -> bool {
        false
    }

    /// The run is a replay under control: its states (seeks back and forth, a read-ahead)
    /// give the same closed prints again, numbered alike.
    fn replaying(&mut self) {}

    /// Closed prints of a state read ahead of the one shown (a replay's read-ahead): the
    /// prints of `changes` numbered below `closed`, which every later state has, for an
    /// output that keeps them before they are shown. Shows nothing.
    fn hold_prints(&mut self, _changes: &PrintChanges, _closed: u64) {}

    /// Closed prints of the state shown, handed on between two frames so that a run at full
    /// speed holds no frame's worth of them (a hundred thousand and more): `frame` changes
    /// nothing but its prints, all closed, and the next frame follows on from them. An output
    /// that shows prints shows them now; the others hold them ([`Output::hold_prints`]).
    ///
    /// # Errors
    /// As [`Output::show`].
    fn show_prints(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        let closed = frame.processor.print_tape().closed_count();
        self.hold_prints(&frame.changes.prints, closed);
        Ok(())
    }
}

/// An output file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path} (is the folder writable, and is the disk full?)")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}
