//! Multi-file ranges on several threads (`--jobs`): each file is processed on its own and the
//! results are stitched in file order into exactly the state of the sequential run.
//!
//! Reading and parsing are most of the cost, and the engine takes events in order, so reading
//! ahead alone cannot help: the files themselves are processed apart. A file's events depend
//! on the past only until its first snapshot, which replaces the book (SPEC 2.2); after it,
//! only the CVD depends on the past, and [`Processor::absorb`] shifts it exactly. So a worker
//! keeps the events before its file's first snapshot (the prefix) aside, applies the rest to a
//! fresh [`Processor`], and the stitcher, in file order, applies the prefix to the sequential
//! state and then absorbs the worker's processor. The first file is processed directly on the
//! sequential state, so the outputs move from the start.
//!
//! At most `jobs` files are in flight: the one being stitched and those after it. Each holds
//! its own reader thread (with its bounded channel), the bars of one file and a prefix of at
//! most [`MAX_PREFIX`] events and levels; a longer prefix (a file whose book has no snapshot)
//! hands the file back to the stitcher, which processes it sequentially.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

use crate::engine::{BookAction, Event, Processor, ProcessorConfig};
use crate::output::json_files::WriteError;
use crate::output::summary::{FileSummary, RunSummary, Skipped};
use crate::source::{Record, Recording};

use super::{CLOCK_EVERY, Job, Speed, Stitched, count, report_midway};

/// The most events plus levels a worker keeps before its file's first snapshot (about 40 MB
/// at worst); past it the file is processed sequentially instead.
const MAX_PREFIX: usize = 500_000;

/// How often the stitcher, waiting for a worker, updates the progress and the live status.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Whether `job` runs on several threads: two files or more, full speed (paced replay follows
/// the clock, one event after the other) and more than one job.
pub(super) fn applies(job: &Job, files: usize) -> bool {
    job.jobs > 1 && files >= 2 && job.speed == Speed::Max
}

/// What a worker hands back for its file.
enum Outcome<'r> {
    /// The file read by a worker: `prefix` are its events before the first snapshot, to be
    /// applied to the sequential state, and `processor` took the rest.
    Split(Box<Split>),
    /// The prefix was too long; the stitcher processes the file itself.
    HandOff(&'r mut Recording),
}

struct Split {
    prefix: Vec<Event>,
    processor: Processor,
    /// Book rows and trades counted as [`count`] does, of the events after the prefix.
    file: FileSummary,
    skipped: Skipped,
    rows_read: u64,
    /// The error that ended the reading midway (or that kept it from starting).
    failed: Option<String>,
}

/// A file being processed on its own thread.
struct Worker<'scope> {
    index: usize,
    rows_read: &'scope AtomicU64,
    outcome: Receiver<Outcome<'scope>>,
    handle: ScopedJoinHandle<'scope, ()>,
}

/// Processes the files of `recordings` (at least two) on up to `job.jobs` threads and leaves
/// in `state` and `summary` exactly what the sequential run leaves.
pub(super) fn process(
    job: &Job,
    recordings: &mut [(usize, Recording)],
    summary: &mut RunSummary,
    state: &mut Stitched,
    cancel: &AtomicBool,
) -> Result<(), WriteError> {
    // Set when the stitcher stops early (Ctrl-C, an output error), so workers stop too.
    let abandon = AtomicBool::new(false);
    let stop = || cancel.load(Ordering::Relaxed) || abandon.load(Ordering::Relaxed);
    let counters: Vec<AtomicU64> = recordings.iter().map(|_| AtomicU64::new(0)).collect();
    std::thread::scope(|scope| {
        let mut in_flight: VecDeque<Worker> = VecDeque::new();
        let result = stitch_in_order(
            job,
            recordings,
            summary,
            state,
            cancel,
            &counters,
            |index, recording, rows_read| {
                spawn(scope, index, recording, job.config, rows_read, &stop)
            },
            &mut in_flight,
        );
        // Workers left over (after Ctrl-C or an output error) stop at their next check.
        abandon.store(true, Ordering::Relaxed);
        for worker in in_flight {
            drop(worker.outcome);
            let _ = worker.handle.join();
        }
        result
    })
}

/// The stitcher: processes the first file itself, the others through `spawn`ed workers, with
/// at most `job.jobs` files in flight, and stitches them in order.
#[allow(clippy::too_many_arguments)]
fn stitch_in_order<'scope>(
    job: &Job,
    recordings: &'scope mut [(usize, Recording)],
    summary: &mut RunSummary,
    state: &mut Stitched,
    cancel: &AtomicBool,
    counters: &'scope [AtomicU64],
    mut spawn: impl FnMut(usize, &'scope mut Recording, &'scope AtomicU64) -> Worker<'scope>,
    in_flight: &mut VecDeque<Worker<'scope>>,
) -> Result<(), WriteError> {
    let mut files = recordings.iter_mut().zip(counters);
    let Some(((first_index, first), _)) = files.next() else {
        return Ok(());
    };
    for ((index, recording), rows_read) in files.by_ref().take(job.jobs - 1) {
        in_flight.push_back(spawn(*index, recording, rows_read));
    }
    let file = &mut summary.files[*first_index];
    state.process_file(job, first, file, &mut summary.skipped, cancel)?;

    while let Some(worker) = in_flight.pop_front() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        if let Some(((index, recording), rows_read)) = files.next() {
            in_flight.push_back(spawn(*index, recording, rows_read));
        }
        let index = worker.index;
        let outcome = wait(worker, state, counters)?;
        let file = &mut summary.files[index];
        match outcome {
            Ok(Outcome::Split(split)) => stitch(state, split, file, &mut summary.skipped),
            Ok(Outcome::HandOff(recording)) => {
                tracing::info!(
                    "{}: no snapshot near the start; processing it after the files before it",
                    recording.info().path.display()
                );
                state.process_file(job, recording, file, &mut summary.skipped, cancel)?;
            }
            Err(error) => report_midway(file, &error),
        }
        let rows_read = state.rows_before;
        state.progress.set_position(rows_read);
        let Stitched {
            processor,
            emitter,
            rows_estimate,
            ..
        } = state;
        emitter.emit_if_due(processor, rows_read, *rows_estimate)?;
    }
    Ok(())
}

fn spawn<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    index: usize,
    recording: &'scope mut Recording,
    config: ProcessorConfig,
    rows_read: &'scope AtomicU64,
    stop: &'scope (impl Fn() -> bool + Sync),
) -> Worker<'scope> {
    let (sender, outcome) = channel();
    let handle = scope.spawn(move || {
        // The receiver is gone only when the stitcher has stopped early.
        let _ = sender.send(work(recording, config, rows_read, stop));
    });
    Worker {
        index,
        rows_read,
        outcome,
        handle,
    }
}

/// Waits for `worker`'s outcome, updating the progress and the live status meanwhile. An
/// `Err` says the worker stopped without an outcome (a bug), for the file's summary.
fn wait<'scope>(
    worker: Worker<'scope>,
    state: &mut Stitched,
    counters: &[AtomicU64],
) -> Result<Result<Outcome<'scope>, String>, WriteError> {
    loop {
        match worker.outcome.recv_timeout(POLL_EVERY) {
            Ok(outcome) => {
                // From here on its rows count in `rows_before` (when stitched or re-read).
                worker.rows_read.store(0, Ordering::Relaxed);
                let _ = worker.handle.join();
                return Ok(Ok(outcome));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = worker.handle.join();
                return Ok(Err(
                    "the worker thread stopped unexpectedly (a bug: please report it)".to_owned(),
                ));
            }
            Err(RecvTimeoutError::Timeout) => {
                let in_flight: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                let rows_read = state.rows_before + in_flight;
                state.progress.set_position(rows_read);
                let Stitched {
                    processor,
                    emitter,
                    rows_estimate,
                    ..
                } = state;
                emitter.emit_if_due(processor, rows_read, *rows_estimate)?;
            }
        }
    }
}

/// Applies the prefix of a file read by a worker to the sequential state, then the worker's
/// processor, and adds its counts to the summary.
fn stitch(state: &mut Stitched, split: Box<Split>, file: &mut FileSummary, skipped: &mut Skipped) {
    for event in &split.prefix {
        let applied = state.processor.apply(event);
        count(file, event, applied);
    }
    state.processor.absorb(split.processor);
    file.book_rows += split.file.book_rows;
    file.trades += split.file.trades;
    skipped.append(split.skipped);
    state.rows_before += split.rows_read;
    if let Some(error) = split.failed {
        report_midway(file, &error);
    }
}

/// Whether `event` makes the book independent of the past: a snapshot that the processor
/// applies (one at or after the range end is ignored).
fn is_fresh_start(event: &Event, config: &ProcessorConfig) -> bool {
    matches!(event, Event::Book(row) if row.action == BookAction::Snapshot && row.ts < config.end)
}

/// A worker's body: reads `recording`, keeps the events before its first snapshot aside and
/// applies the rest to a fresh processor.
fn work<'r>(
    recording: &'r mut Recording,
    config: ProcessorConfig,
    rows_read: &AtomicU64,
    stop: &dyn Fn() -> bool,
) -> Outcome<'r> {
    let path = recording.info().path.clone();
    let mut split = Box::new(Split {
        prefix: Vec::new(),
        processor: Processor::new(config),
        file: FileSummary::new(&path, crate::output::summary::FileStatus::Used),
        skipped: Skipped::default(),
        rows_read: 0,
        failed: None,
    });
    tracing::info!("reading {}", path.display());
    let mut stream = match recording.events(config.end) {
        Ok(stream) => stream,
        Err(error) => {
            split.failed = Some(error.to_string());
            return Outcome::Split(split);
        }
    };
    let mut started = false;
    let mut prefix_cost = 0;
    let mut events: u64 = 0;
    loop {
        let record = match stream.next() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(error) => {
                split.failed = Some(error.to_string());
                break;
            }
        };
        let event = match record {
            Record::Event(event) => event,
            Record::Bad(bad) => {
                split.skipped.record(&path, &bad);
                continue;
            }
        };
        started = started || is_fresh_start(&event, &config);
        if started {
            let applied = split.processor.apply(&event);
            count(&mut split.file, &event, applied);
        } else {
            prefix_cost += 1 + match &event {
                Event::Book(row) => row.bids.len() + row.asks.len(),
                Event::Trade(_) => 0,
            };
            if prefix_cost > MAX_PREFIX {
                drop(stream);
                return Outcome::HandOff(recording);
            }
            split.prefix.push(event);
        }
        events += 1;
        if events % CLOCK_EVERY == 0 {
            rows_read.store(stream.rows_read(), Ordering::Relaxed);
            if stop() {
                break;
            }
        }
    }
    split.rows_read = stream.rows_read();
    Outcome::Split(split)
}
