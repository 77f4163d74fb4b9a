//! The store as one more output of a run (SPEC 9.1, 9.2): each frame's changed bars, metric
//! bars, footprints and big prints go to the store's writer (`writer.rs`) as one batch, one
//! transaction; the writer then computes the signals of the bars that closed since.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::{Bar, FootprintBar, Millis, Print, PrintChanges, Processor, window_start};
use crate::output::frame::{Frame, Output, WriteError};
use crate::output::status::Phase;
use crate::strategy::evaluate::Strategy;

use super::records::{BarRecord, Batch, FootprintRecord, PrintRecord, RunRecord, RunStatus};
use super::repository::{Store, StoreError};
use super::writer::{Message, SignalSinks, WriterThread};

/// The store, written as the run goes.
pub struct StoreOutput {
    writer: WriterThread,
    path: PathBuf,
    window_ms: i64,
    /// `--big-print X`: the prints of size >= X are kept.
    big_print: Option<f64>,
    /// Set when the run is told to stop: its `runs` row then says `interrupted`.
    cancel: Arc<AtomicBool>,
    /// The bars below this window start were closed at the last frame.
    closed_to: Millis,
    /// The window of the range's start.
    first: Millis,
    finished: bool,
    /// The signals' store of a run with a page: its end is not final (a replay may go back
    /// from it), so the writer goes on after it, until the output is dropped.
    follows_seeks: bool,
    /// The end of the run was told to the writer (and not gone back from since).
    end_sent: bool,
    /// A replay under control: a print stored is the same in every state, so a state that
    /// goes back deletes none (those read ahead were stored as they were read).
    replaying: bool,
}

impl StoreOutput {
    /// Opens the store at `path` (made when missing; the caller has checked that it may be
    /// written), deletes the rows of `run`'s series in its range, adds its `runs` row and
    /// starts its writer.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be opened or written.
    pub fn create(
        path: PathBuf,
        run: RunRecord,
        strategy: Strategy,
        sinks: SignalSinks,
        cancel: Arc<AtomicBool>,
    ) -> Result<StoreOutput, StoreError> {
        let store = Store::open(&path)?;
        StoreOutput::with_store(store, path, run, strategy, sinks, cancel, false)
    }

    /// A store in memory: the signals of a run that has no `--store`.
    ///
    /// # Errors
    /// When SQLite cannot make one.
    pub fn in_memory(
        run: RunRecord,
        strategy: Strategy,
        sinks: SignalSinks,
        cancel: Arc<AtomicBool>,
    ) -> Result<StoreOutput, StoreError> {
        let store = Store::in_memory()?;
        let path = PathBuf::from("(the signals' store in memory)");
        // Nobody reads this store but the signals: without user rules, which may look at any
        // bar's footprint, a bar's footprint rows are held in memory only until its signals
        // are computed, never written (a day's are some 20 MB of SQLite pages, and a seek far
        // ahead would write them all).
        let forget_footprint = strategy.rules.is_empty();
        let follows_seeks = sinks.board.is_some();
        let mut output =
            StoreOutput::with_store(store, path, run, strategy, sinks, cancel, forget_footprint)?;
        output.follows_seeks = follows_seeks;
        Ok(output)
    }

    fn with_store(
        store: Store,
        path: PathBuf,
        run: RunRecord,
        strategy: Strategy,
        sinks: SignalSinks,
        cancel: Arc<AtomicBool>,
        forget_footprint: bool,
    ) -> Result<StoreOutput, StoreError> {
        let window_ms = run.series.window_s.saturating_mul(1000).max(1);
        let closed_to = window_start(run.range_start, window_ms);
        let big_print = strategy.options.big_print;
        let writer = WriterThread::start(store, run, strategy, sinks, forget_footprint).map_err(
            |error| StoreError::Open {
                path: path.display().to_string(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(error)),
            },
        )?;
        Ok(StoreOutput {
            writer,
            path,
            window_ms,
            big_print,
            cancel,
            closed_to,
            first: closed_to,
            finished: false,
            follows_seeks: false,
            end_sent: false,
            replaying: false,
        })
    }

    /// The prints the store keeps: those `big_print` may fire on (`--big-print X`: size >= X),
    /// none without it. A day holds about a million prints; writing them all would cost more
    /// than the whole run.
    fn big_prints(&self, first: u64, prints: &[Print]) -> Vec<PrintRecord> {
        let Some(least) = self.big_print else {
            return Vec::new();
        };
        prints
            .iter()
            .zip(first..)
            .filter(|(print, _)| print.size >= least)
            .map(|(print, seq)| PrintRecord {
                seq,
                ts: print.ts,
                side: print.side,
                vwap: print.vwap,
                size: print.size,
                trades: u64::from(print.trades),
            })
            .collect()
    }

    fn error(&self, error: impl std::fmt::Display) -> WriteError {
        WriteError {
            path: self.path.clone(),
            source: io::Error::other(error.to_string()),
        }
    }

    /// The bars closed as of `frame`: those below the window of the last event processed,
    /// every bar once the run has ended.
    fn closed_to(&self, frame: &Frame<'_>) -> Millis {
        if is_last(frame) {
            return Millis::MAX;
        }
        match frame.processor.counts().last_ts {
            Some(ts) => window_start(ts, self.window_ms).max(self.closed_to),
            None => self.closed_to,
        }
    }

    fn send(&mut self, message: Message, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.writer
            .send(message)
            .map_err(|error| self.error(error))?;
        if is_last(frame) && !self.finished && !self.end_sent {
            self.end_sent = true;
            let status = if frame.status.phase == Phase::Failed {
                RunStatus::Failed
            } else if self.cancel.load(Ordering::SeqCst) {
                RunStatus::Interrupted
            } else {
                RunStatus::Finished
            };
            let finish = self.writer.send(Message::Finish(status));
            if self.follows_seeks {
                // The writer goes on (a seek may come), but the end's signals are on the
                // board before the run says it is done.
                let (done, flushed) = std::sync::mpsc::channel();
                return finish
                    .and_then(|()| self.writer.send(Message::Flush(done)))
                    .map(|()| {
                        let _ = flushed.recv();
                    })
                    .map_err(|error| self.error(error));
            }
            self.finished = true;
            // The run ends with the store written whole.
            finish
                .and_then(|()| self.writer.join())
                .map_err(|error| self.error(error))?;
        }
        Ok(())
    }
}

/// Whether `frame` is the run's last.
fn is_last(frame: &Frame<'_>) -> bool {
    matches!(frame.status.phase, Phase::Done | Phase::Failed)
}

impl Output for StoreOutput {
    fn wants_prints(&self) -> bool {
        self.big_print.is_some()
    }

    fn replaying(&mut self) {
        self.replaying = true;
    }

    /// The big prints a read-ahead closed, stored before they are shown (the signals of a bar
    /// look at its prints only once it is closed).
    fn hold_prints(&mut self, changes: &PrintChanges, closed: u64) {
        if self.finished || self.big_print.is_none() {
            return;
        }
        let count = usize::try_from(closed.saturating_sub(changes.first))
            .unwrap_or(usize::MAX)
            .min(changes.prints.len());
        let batch = Batch {
            prints: self.big_prints(changes.first, &changes.prints[..count]),
            ..Batch::default()
        };
        if batch.prints.is_empty() {
            return;
        }
        let message = Message::Write {
            batch,
            closed_to: self.closed_to,
        };
        if let Err(error) = self.writer.send(message) {
            tracing::warn!("the store stopped: {error}");
        }
    }

    fn show(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        if self.finished {
            return Ok(());
        }
        let processor = frame.processor;
        let changes = frame.changes;
        let batch = Batch {
            bars: changes
                .bars
                .iter()
                .map(|bar| bar_record(processor, bar))
                .collect(),
            metric_bars: changes.metric_bars.clone(),
            footprints: changes.footprints.iter().map(footprint_rows).collect(),
            prints: self.big_prints(changes.prints.first, &changes.prints.prints),
            signals: Vec::new(),
        };
        self.closed_to = self.closed_to(frame);
        let closed_to = self.closed_to;
        self.send(Message::Write { batch, closed_to }, frame)
    }

    /// The state went back (or, in a replay, jumped to a state read ahead): the run's rows
    /// from the first bar that may differ are written afresh from it, and their signals
    /// computed again. The bars closed before both this state and the last frame shown are
    /// those of any run over the same events: they stay, with their signals (a seek in a
    /// week of one-minute bars rewrites what changed, not the week).
    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        if self.finished {
            return Ok(());
        }
        let processor = frame.processor;
        let prints = &frame.changes.prints;
        let first_print = if prints.prints.is_empty() {
            processor.print_count()
        } else {
            prints.first
        };
        let closed_to = match processor.counts().last_ts {
            _ if is_last(frame) => Millis::MAX,
            Some(ts) => window_start(ts, self.window_ms),
            // Back to the start, before any event: no bar closed.
            None => self.first,
        };
        let from = self.closed_to.min(closed_to);
        self.closed_to = closed_to;
        self.end_sent = false;
        let batch = Batch {
            bars: processor
                .bars()
                .iter()
                .filter(|bar| bar.ts >= from)
                .map(|bar| bar_record(processor, bar))
                .collect(),
            metric_bars: processor
                .metric_bars()
                .iter()
                .filter(|bar| bar.ts >= from)
                .copied()
                .collect(),
            footprints: processor
                .footprints()
                .iter()
                .filter(|bar| bar.ts >= from)
                .map(footprint_rows)
                .collect(),
            prints: self.big_prints(prints.first, &prints.prints),
            signals: Vec::new(),
        };
        let message = Message::Restart {
            batch,
            // A replay's prints are the same in every state: none is deleted.
            first_print: if self.replaying {
                i64::MAX as u64
            } else {
                first_print
            },
            closed_to,
            from,
        };
        self.send(message, frame)
    }
}

/// `bar` with its extras from the processor's footprint of its window.
fn bar_record(processor: &Processor, bar: &Bar) -> BarRecord {
    let extras = processor.footprints().get(bar.ts);
    BarRecord {
        bar: *bar,
        buy_volume: extras.map_or(0.0, |extras| extras.buy_volume),
        sell_volume: extras.map_or(0.0, |extras| extras.sell_volume),
        trades: extras.map_or(0, |extras| extras.trades),
    }
}

fn footprint_rows(bar: &FootprintBar) -> (Millis, Vec<FootprintRecord>) {
    let rows = bar
        .rows
        .iter()
        .map(|row| FootprintRecord {
            ts: bar.ts,
            price: row.price,
            buy: row.buy,
            sell: row.sell,
        })
        .collect();
    (bar.ts, rows)
}
