//! The store's writer: a thread of its own that owns the store's connection, writes each batch
//! in one transaction, computes the signals of the bars that closed, and hands them on. The run
//! only builds the batches, so writing the store costs it little more than the copies.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::engine::{Millis, window_start};
use crate::output::signal_board::SignalBoard;
use crate::strategy::evaluate::{Strategy, evaluate_with};
use crate::strategy::notify::OnSignal;

use super::records::{Batch, FootprintRecord, RunRecord, RunStatus, Series};
use super::repository::Store;

/// Batches waiting for the writer before the run waits for it (memory stays bounded).
const QUEUE: usize = 4;

/// Where new signals go besides the store.
#[derive(Default)]
pub struct SignalSinks {
    /// The page's list (`/api/signals`).
    pub board: Option<SignalBoard>,
    /// `--on-signal`.
    pub on_signal: Option<OnSignal>,
}

/// What the run asks of the writer, in order.
pub(super) enum Message {
    /// Write `batch`; the bars below `closed_to` are closed.
    Write { batch: Batch, closed_to: Millis },
    /// The run went back to an earlier state (or jumped to one read ahead): its rows from
    /// `from` on are replaced by `batch`, its prints from number `first_print` on are deleted,
    /// and the signals from `from` on computed again.
    Restart {
        batch: Batch,
        first_print: u64,
        closed_to: Millis,
        from: Millis,
    },
    /// The run ended so.
    Finish(RunStatus),
    /// Answers once everything sent before is done.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The writer thread and the way to it.
pub(super) struct WriterThread {
    queue: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<()>>,
    /// Why the writer stopped, when it failed.
    failure: Arc<Mutex<Option<String>>>,
}

impl WriterThread {
    /// Starts the writer of `run` on `store`. Its first work, beside the run's, is to delete
    /// the run's rows in its range and add its `runs` row (a day's rows take a while to delete).
    /// With `forget_footprint`, the store keeps no footprint: a bar's rows are held until its
    /// signals are computed.
    pub(super) fn start(
        store: Store,
        run: RunRecord,
        strategy: Strategy,
        sinks: SignalSinks,
        forget_footprint: bool,
    ) -> std::io::Result<WriterThread> {
        let (queue, messages) = sync_channel(QUEUE);
        let failure = Arc::new(Mutex::new(None));
        let first = window_start(run.range_start, window_ms(&run.series));
        let mut writer = Writer {
            store,
            run,
            run_id: 0,
            strategy,
            sinks,
            first,
            closed_to: first,
            announced_to: first,
            forget_footprint,
            held_footprints: std::collections::BTreeMap::new(),
        };
        let failed = failure.clone();
        let thread = std::thread::Builder::new()
            .name("store".to_owned())
            .spawn(move || {
                let started = writer.begin();
                if let Err(error) = started.and_then(|()| writer.serve(&messages)) {
                    *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                }
            })?;
        Ok(WriterThread {
            queue: Some(queue),
            thread: Some(thread),
            failure,
        })
    }

    /// Hands `message` to the writer (waiting while its queue is full).
    ///
    /// # Errors
    /// Why the writer stopped, when it did.
    pub(super) fn send(&mut self, message: Message) -> Result<(), String> {
        let sent = self
            .queue
            .as_ref()
            .is_some_and(|queue| queue.send(message).is_ok());
        if sent { Ok(()) } else { Err(self.stop()) }
    }

    /// Waits for the writer to end (after a [`Message::Finish`]).
    ///
    /// # Errors
    /// Why the writer stopped, when it failed.
    pub(super) fn join(&mut self) -> Result<(), String> {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        match self
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn stop(&mut self) -> String {
        self.join()
            .err()
            .unwrap_or_else(|| "the store's writer has stopped".to_owned())
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        // A run that ends on an error still leaves the store with what was committed.
        let _ = self.join();
    }
}

fn window_ms(series: &Series) -> i64 {
    series.window_s.saturating_mul(1000).max(1)
}

/// The writer's state, on its thread.
struct Writer {
    store: Store,
    run: RunRecord,
    run_id: i64,
    strategy: Strategy,
    sinks: SignalSinks,
    /// The window of the range's start.
    first: Millis,
    /// Signals have been computed for the bars below this window start.
    closed_to: Millis,
    /// Signals below this were handed on already (a run that starts over does not announce
    /// them twice).
    announced_to: Millis,
    /// The store keeps no footprint: a bar's rows are held here until its signals are
    /// computed, then dropped (the signals' store of a run without user rules).
    forget_footprint: bool,
    held_footprints: std::collections::BTreeMap<Millis, Vec<FootprintRecord>>,
}

impl Writer {
    /// Deletes the run's rows in its range and adds its `runs` row.
    fn begin(&mut self) -> Result<(), String> {
        self.run_id = self
            .store
            .begin_run(&self.run, &now())
            .map_err(|error| error.to_string())?;
        Ok(())
    }

    fn serve(&mut self, messages: &Receiver<Message>) -> Result<(), String> {
        while let Ok(message) = messages.recv() {
            match message {
                Message::Write { batch, closed_to } => self.write(batch, closed_to)?,
                Message::Restart {
                    batch,
                    first_print,
                    closed_to,
                    from,
                } => {
                    let (series, end) = (&self.run.series, self.run.range_end);
                    let from = from.max(self.run.range_start);
                    self.store
                        .restart_range(series, from, end, first_print)
                        .map_err(|error| error.to_string())?;
                    self.closed_to = window_start(from, window_ms(series)).max(self.first);
                    if let Some(board) = &self.sinks.board {
                        board.keep_before(self.closed_to);
                    }
                    self.held_footprints.split_off(&from);
                    self.write(batch, closed_to)?;
                }
                Message::Finish(status) => {
                    self.store
                        .finish_run(self.run_id, status, &now())
                        .map_err(|error| error.to_string())?;
                    if let Some(on_signal) = self.sinks.on_signal.take() {
                        on_signal.finish();
                    }
                }
                Message::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
        Ok(())
    }

    /// Writes `batch`, then the signals of the bars that closed since the last write.
    fn write(&mut self, mut batch: Batch, closed_to: Millis) -> Result<(), String> {
        if self.forget_footprint {
            for (ts, rows) in std::mem::take(&mut batch.footprints) {
                self.held_footprints.insert(ts, rows);
            }
        }
        self.store
            .write(&self.run.series, &batch)
            .map_err(|error| error.to_string())?;
        if closed_to > self.closed_to {
            self.signals(self.closed_to, closed_to)?;
            self.closed_to = closed_to;
        }
        Ok(())
    }

    /// Computes, stores and hands on the signals of the closed bars in `[from, to)`.
    fn signals(&mut self, from: Millis, to: Millis) -> Result<(), String> {
        let series = &self.run.series;
        // Each bar's rows as they are held, not copied into one list (a frame at full speed
        // closes a hundred bars and more).
        let held: Option<Vec<&[FootprintRecord]>> = self.forget_footprint.then(|| {
            self.held_footprints
                .range(from..to)
                .map(|(_, rows)| rows.as_slice())
                .collect()
        });
        let signals = evaluate_with(
            &self.store,
            series,
            &self.strategy,
            from,
            to,
            held.as_deref(),
        )
        .map_err(|error| error.to_string())?;
        if !signals.is_empty() {
            let batch = Batch {
                signals,
                ..Batch::default()
            };
            self.store
                .write(series, &batch)
                .map_err(|error| error.to_string())?;
            if let Some(board) = &self.sinks.board {
                board.add(&batch.signals);
            }
            if let Some(on_signal) = &mut self.sinks.on_signal {
                let new = batch.signals.iter().filter(|s| s.ts >= self.announced_to);
                for signal in new {
                    on_signal.send(signal_line(series, signal));
                }
            }
        }
        self.announced_to = self.announced_to.max(to);
        // Done with: the bars below `to` are closed and their signals computed.
        self.held_footprints = self.held_footprints.split_off(&to);
        Ok(())
    }
}

/// A signal as the one JSON line `--on-signal` is given.
pub fn signal_line(series: &Series, signal: &crate::engine::Signal) -> String {
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
pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
