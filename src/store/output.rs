//! The store as one more output of a run (SPEC 9.1, 9.2): every frame's changed bars, metric
//! bars, footprints and prints are written in one transaction, then the signals of the bars
//! that closed since the last frame are computed on the stored bars, written, and handed to
//! the page and to `--on-signal`.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::{FootprintBar, Millis, Processor, Signal, window_start};
use crate::output::frame::{Frame, Output, WriteError};
use crate::output::signal_board::SignalBoard;
use crate::output::status::Phase;
use crate::strategy::{OnSignal, Strategy, evaluate};

use super::records::{
    BarRecord, Batch, FootprintRecord, PrintRecord, RunRecord, RunStatus, Series,
};
use super::repository::{Store, StoreError};

/// Where new signals go besides the store.
#[derive(Default)]
pub struct SignalSinks {
    /// The page's list (`/api/signals`).
    pub board: Option<SignalBoard>,
    /// `--on-signal`.
    pub on_signal: Option<OnSignal>,
}

/// The store, written as the run goes.
pub struct StoreOutput {
    store: Store,
    path: PathBuf,
    run: RunRecord,
    run_id: i64,
    strategy: Strategy,
    sinks: SignalSinks,
    /// Set when the run is told to stop: its `runs` row then says `interrupted`.
    cancel: Arc<AtomicBool>,
    /// Signals have been computed for the bars below this window start.
    closed_to: Millis,
    /// Signals below this were handed to the sinks already (a run that starts over does not
    /// announce them twice).
    announced_to: Millis,
    finished: bool,
}

impl StoreOutput {
    /// Opens the store at `path` (made when missing; the caller has checked that it may be
    /// written), deletes the rows of `run`'s series in its range and adds its `runs` row.
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
        StoreOutput::with_store(store, path, run, strategy, sinks, cancel)
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
        StoreOutput::with_store(store, path, run, strategy, sinks, cancel)
    }

    fn with_store(
        mut store: Store,
        path: PathBuf,
        run: RunRecord,
        strategy: Strategy,
        sinks: SignalSinks,
        cancel: Arc<AtomicBool>,
    ) -> Result<StoreOutput, StoreError> {
        let run_id = store.begin_run(&run, &now())?;
        let window_ms = run.series.window_s.saturating_mul(1000).max(1);
        let first = window_start(run.range_start, window_ms);
        Ok(StoreOutput {
            store,
            path,
            run,
            run_id,
            strategy,
            sinks,
            cancel,
            closed_to: first,
            announced_to: first,
            finished: false,
        })
    }

    /// The `runs` row's id.
    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    fn window_ms(&self) -> i64 {
        self.run.series.window_s.saturating_mul(1000).max(1)
    }

    fn error(&self, error: impl std::fmt::Display) -> WriteError {
        WriteError {
            path: self.path.clone(),
            source: io::Error::other(error.to_string()),
        }
    }

    /// Writes `batch`, then the signals of the bars closed by `frame`.
    fn write(&mut self, batch: &Batch, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.store
            .write(&self.run.series, batch)
            .map_err(|error| self.error(error))?;
        let last = frame.status.phase == Phase::Done || frame.status.phase == Phase::Failed;
        // A bar is closed once an event of a later window was processed, or the run ended.
        let closed_to = if last {
            Millis::MAX
        } else {
            match frame.processor.counts().last_ts {
                Some(ts) => window_start(ts, self.window_ms()),
                None => self.closed_to,
            }
        };
        if closed_to > self.closed_to {
            self.signals(self.closed_to, closed_to)?;
            self.closed_to = closed_to;
        }
        if last && !self.finished {
            self.finish(frame.status.phase)?;
        }
        Ok(())
    }

    /// Computes, stores and announces the signals of the closed bars in `[from, to)`.
    fn signals(&mut self, from: Millis, to: Millis) -> Result<(), WriteError> {
        let signals = evaluate(&self.store, &self.run.series, &self.strategy, from, to)
            .map_err(|error| self.error(error))?;
        if signals.is_empty() {
            return Ok(());
        }
        let batch = Batch {
            signals: signals.clone(),
            ..Batch::default()
        };
        self.store
            .write(&self.run.series, &batch)
            .map_err(|error| self.error(error))?;
        let new: Vec<Signal> = signals
            .into_iter()
            .filter(|signal| signal.ts >= self.announced_to)
            .collect();
        self.announced_to = self.announced_to.max(to);
        if let Some(board) = &self.sinks.board {
            board.add(&new);
        }
        if let Some(on_signal) = &mut self.sinks.on_signal {
            for signal in &new {
                on_signal.send(signal_line(&self.run.series, signal));
            }
        }
        Ok(())
    }

    /// The run ended: its `runs` row says how, and `--on-signal` is given its last signals.
    fn finish(&mut self, phase: Phase) -> Result<(), WriteError> {
        self.finished = true;
        let status = if phase == Phase::Failed {
            RunStatus::Failed
        } else if self.cancel.load(Ordering::SeqCst) {
            RunStatus::Interrupted
        } else {
            RunStatus::Finished
        };
        self.store
            .finish_run(self.run_id, status, &now())
            .map_err(|error| self.error(error))?;
        if let Some(on_signal) = self.sinks.on_signal.take() {
            on_signal.finish();
        }
        Ok(())
    }
}

impl Output for StoreOutput {
    fn show(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
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
            prints: print_records(changes.prints.first, &changes.prints.prints),
            signals: Vec::new(),
        };
        self.write(&batch, frame)
    }

    /// The state went back: the run's rows are written afresh from it, and its signals
    /// computed again.
    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        let processor = frame.processor;
        let (start, end) = (self.run.range_start, self.run.range_end);
        let prints = &frame.changes.prints;
        let first_print = if prints.prints.is_empty() {
            processor.print_count()
        } else {
            prints.first
        };
        self.store
            .restart_range(&self.run.series, start, end, first_print)
            .map_err(|error| self.error(error))?;
        let batch = Batch {
            bars: processor
                .bars()
                .iter()
                .map(|bar| bar_record(processor, bar))
                .collect(),
            metric_bars: processor.metric_bars().iter().copied().collect(),
            footprints: processor.footprints().iter().map(footprint_rows).collect(),
            prints: print_records(prints.first, &prints.prints),
            signals: Vec::new(),
        };
        self.closed_to = window_start(start, self.window_ms());
        if let Some(board) = &self.sinks.board {
            board.replace(Vec::new());
        }
        self.write(&batch, frame)
    }
}

/// `bar` with its extras from the processor's footprint of its window.
fn bar_record(processor: &Processor, bar: &crate::engine::Bar) -> BarRecord {
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

fn print_records(first: u64, prints: &[crate::engine::Print]) -> Vec<PrintRecord> {
    prints
        .iter()
        .zip(first..)
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

/// A signal as the one JSON line `--on-signal` is given.
pub fn signal_line(series: &Series, signal: &Signal) -> String {
    let detail = signal
        .detail
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .unwrap_or_else(|| {
            signal
                .detail
                .clone()
                .map_or(serde_json::Value::Null, Into::into)
        });
    serde_json::json!({
        "instrument": series.instrument,
        "window_s": series.window_s,
        "ts": signal.ts,
        "name": signal.name,
        "price": signal.price,
        "value": signal.value,
        "detail": detail,
    })
    .to_string()
}

/// Now, as the `runs` table writes times: RFC 3339 UTC with milliseconds.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
