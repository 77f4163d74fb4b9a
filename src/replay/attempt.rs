//! One file's attempt: its records read and applied in order, and its retry policy. A read at
//! full speed bets that the trades are in time order by `id`; should the bet fail (or the read
//! fail), the file starts over from the state before it, so the result is always the one of
//! a read that checked.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::summary::{FileStatus, FileSummary, Skipped};
use crate::engine::{Applied, Event};
use crate::output::json_files::WriteError;
use crate::source::{Ending, FileError, Next, ReadMode, Reader, Record, Recording, TradeOrder};

use super::controlled::Admit;
use super::job::{Job, Speed};
use super::state::{CLOCK_EVERY, State};

/// How the reading of a file ended.
enum Read {
    Done,
    /// A read that trusted the trades' order found them out of order, or failed: what it
    /// gave is not to be kept, and the file is read again as `order` says.
    StartOver {
        order: TradeOrder,
        why: String,
    },
}

/// Where one file's records are counted in the run summary: the file's own line, and the
/// run's skipped rows.
pub(super) struct Account<'s> {
    pub(super) file: &'s mut FileSummary,
    pub(super) skipped: &'s mut Skipped,
}

impl State<'_> {
    /// Reads `recording` and applies its events in order, emitting on the way. With
    /// `read_ahead` the tables are read and parsed ahead on threads of their own; otherwise
    /// (`--jobs 1`, or when the other threads read later files) the file is read on this
    /// thread.
    ///
    /// A run as fast as it goes trusts the trades to be in time order by id (as recorders
    /// write them): the engine does not wait for a pass over the trades to check it. Should
    /// they turn out not to be, the file starts over from the state before it with the trades
    /// sorted; should the reading fail, it starts over with their order checked first. Either
    /// way the result is what `--jobs 1` gives.
    pub(super) fn process_file(
        &mut self,
        job: &Job,
        read_ahead: bool,
        recording: &mut Recording,
        mut account: Account<'_>,
    ) -> Result<(), WriteError> {
        // A replay under control keeps every event it processes on its tape: it never reads a
        // file on a bet that could make it start over.
        let order = match job.speed {
            Speed::Max if self.player.is_none() => TradeOrder::Trusted,
            _ => TradeOrder::Checked,
        };
        let mode = if read_ahead {
            ReadMode::Threads(order)
        } else {
            ReadMode::Inline(order)
        };
        if !mode.trusts() {
            // Only a trusting read starts over.
            return self
                .read_file(job, recording, mode, &mut account)
                .map(|_| ());
        }
        let before = (
            self.processor.clone(),
            account.file.clone(),
            account.skipped.clone(),
        );
        let Read::StartOver { order, why } = self.read_file(job, recording, mode, &mut account)?
        else {
            return Ok(());
        };
        if self.cancel.load(Ordering::Relaxed) {
            // A run told to stop keeps the state it reached, as in any other file.
            return Ok(());
        }
        tracing::info!("{why}");
        (self.processor, *account.file, *account.skipped) = before;
        self.emitter.start_over(&mut self.processor)?;
        self.read_file(job, recording, mode.with_order(order), &mut account)
            .map(|_| ())
    }

    /// Reads `recording` as `mode` says and applies its records.
    fn read_file(
        &mut self,
        job: &Job,
        recording: &mut Recording,
        mode: ReadMode,
        account: &mut Account<'_>,
    ) -> Result<Read, WriteError> {
        let path = recording.info().path.clone();
        tracing::info!("reading {}", path.display());
        let trusted = mode.trusts();
        let mut rows_read = 0;
        let read = match recording.read(job.config.end, mode) {
            Ok(mut reader) => {
                let read = self.apply_all(&mut reader, &path, account)?;
                rows_read = reader.rows_read();
                read
            }
            Err(error) => Err(error),
        };
        match read {
            Ok(Ending::Complete) => {}
            Ok(Ending::TradesOutOfOrder) => {
                return Ok(Read::StartOver {
                    order: TradeOrder::Sorted,
                    why: format!(
                        "{}: its trades are not in time order by id: reading it again, its trades sorted",
                        path.display()
                    ),
                });
            }
            // A cancelled run stops SQLite midway: that is no fault of the file.
            Err(FileError::Interrupted { .. }) => {}
            Err(error) if trusted => {
                return Ok(Read::StartOver {
                    order: TradeOrder::Checked,
                    why: format!(
                        "{error}: reading it again, the order of its trades checked first"
                    ),
                });
            }
            Err(error) => report_midway(account.file, &error.to_string()),
        }
        self.rows_before += rows_read;
        Ok(Read::Done)
    }

    /// Applies the records of `reader` in order until its end, an error, or the run being
    /// interrupted. The outer error is an output's; the inner one the file's.
    fn apply_all(
        &mut self,
        reader: &mut Reader<'_>,
        path: &Path,
        account: &mut Account<'_>,
    ) -> Result<Result<Ending, FileError>, WriteError> {
        loop {
            let record = match reader.next() {
                Ok(Next::Record(record)) => record,
                Ok(Next::End(ending)) => return Ok(Ok(ending)),
                Err(error) => return Ok(Err(error)),
            };
            let rows_read = reader.rows_read();
            if self.apply(&record, rows_read, path, account)?.is_break() {
                return Ok(Ok(Ending::Complete));
            }
            // Its level vectors go back to the reader, which parses the next rows into them
            // instead of allocating.
            if let Record::Event(Event::Book(row)) = record {
                reader.recycle(row);
            }
        }
    }

    /// Applies one record of a file (`rows_read` of it read so far); breaks when the run is
    /// interrupted.
    pub(super) fn apply(
        &mut self,
        record: &Record,
        rows_read: u64,
        path: &Path,
        account: &mut Account<'_>,
    ) -> Result<ControlFlow<()>, WriteError> {
        let event = match record {
            Record::Event(event) => event,
            Record::Bad(bad) => {
                account.skipped.record(path, bad);
                return Ok(ControlFlow::Continue(()));
            }
        };
        if self.player.is_some() {
            let rows = self.rows_before + rows_read;
            match self.admit(Some(event.ts()), false)? {
                Admit::Stop => {
                    tracing::warn!("interrupted: writing the state reached so far");
                    return Ok(ControlFlow::Break(()));
                }
                Admit::Shown => self.record(event, rows)?,
                Admit::Ahead => {
                    let applied = self.read_ahead(event, rows)?;
                    count(account.file, matches!(event, Event::Book(_)), applied);
                    return self.tick(rows, false);
                }
            }
        }
        let applied = self.processor.apply(event);
        count(account.file, matches!(event, Event::Book(_)), applied);
        let rows_read = self.rows_before + rows_read;
        let State {
            processor,
            emitter,
            pacer,
            rows_estimate,
            cancel,
            ..
        } = self;
        let paced = applied == Applied::InRange
            && pacer.wait(event.ts(), cancel, &mut || {
                emitter.emit_if_due(processor, rows_read, *rows_estimate)
            })?;
        self.tick(rows_read, paced)
    }

    /// After each event: every [`CLOCK_EVERY`] events (or after each paced one), shows the
    /// progress, writes the outputs if they are due, and breaks if the run was told to stop.
    #[inline]
    pub(super) fn tick(
        &mut self,
        rows_read: u64,
        paced: bool,
    ) -> Result<ControlFlow<()>, WriteError> {
        self.events += 1;
        if paced || self.events % CLOCK_EVERY == 0 {
            self.progress.set_position(rows_read);
            self.show_player()?;
            self.emitter
                .emit_if_due(&mut self.processor, rows_read, self.rows_estimate)?;
            self.emitter.show_prints_if_many(&mut self.processor)?;
            if self.cancel.load(Ordering::Relaxed) {
                tracing::warn!("interrupted: writing the state reached so far");
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Counts an event in its file's summary: book rows applied (in range or warm-up), and every
/// valid trade.
pub(super) fn count(file: &mut FileSummary, book: bool, applied: Applied) {
    match (book, applied) {
        (true, Applied::InRange | Applied::Warmup) => file.book_rows += 1,
        (false, _) => file.trades += 1,
        _ => {}
    }
}

/// Marks a file that failed midway; what was read before is kept (SPEC 4).
pub(super) fn report_midway(file: &mut FileSummary, error: &str) {
    tracing::error!("{error}; what was read before is kept");
    file.status = FileStatus::FailedMidway;
    file.error = Some(format!("{error}; the rows read before were kept"));
}
