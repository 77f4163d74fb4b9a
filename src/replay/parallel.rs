//! `--jobs N` on a range of several files (issue 5): the files after the first are read by
//! workers, at most `N - 1` files ahead of the file being stitched.
//!
//! A worker keeps the events of its file before the first snapshot row as they are (the
//! prefix: they depend on the book carried over from the files before), and from that snapshot
//! on runs only the book stage ([`BookStage`]) on a book of its own, spilling the outcomes to
//! an anonymous temporary file. The stitcher then takes the files in order: the prefix goes
//! through the full processor, the outcomes through its accounting stage, and the worker's
//! book replaces the processor's at the end. CVD and bar volumes stay plain f64 sums in event
//! order, so the result is the sequential run's, byte for byte.

use std::collections::VecDeque;
use std::io;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::ScopedJoinHandle;

use super::summary::{FileSummary, RunSummary, Skipped};
use crate::engine::{
    BookAction, BookStage, Event, FootprintsAway, Outcome, Processor, ProcessorConfig,
};
use crate::output::json_files::WriteError;
use crate::source::{BadRow, Ending, FileError, Next, ReadMode, Record, Recording, TradeOrder};

use super::attempt::{Account, count, report_midway};
use super::job::Job;
use super::spill::{Finished, Spill, SpillWriter};
use super::state::{CLOCK_EVERY, State};

/// Events a worker keeps before its file's first snapshot; a longer prefix hands the file
/// back to be read by the stitcher itself.
const MAX_PREFIX: usize = 200_000;

/// What a worker made of its file.
enum Work<'a> {
    /// No use reading ahead (a long prefix, or the spill file failed), or the file needs the
    /// sequential loop's policy (its trades are not in time order by id, or its reading
    /// failed): the stitcher reads it. Whatever the worker spilled before is given up (see
    /// `spill.rs`).
    Sequential(&'a mut Recording),
    Done(Box<FileEnd>),
}

/// What a worker sends as soon as it has it: the records before its file's first snapshot,
/// and the reader of the spill it goes on writing.
struct Started {
    /// The records before the first snapshot, bad rows included, in order.
    prefix: Vec<Record>,
    /// The outcomes of the events from the first snapshot on, as they are spilled.
    spill: Spill,
}

/// The rest of a file read ahead, once read.
struct FileEnd {
    /// The bad rows from the first snapshot on, in order.
    bad: Vec<BadRow>,
    /// The book stage after the file's last event.
    stage: Option<BookStage>,
    rows_read: u64,
}

/// A file being read ahead: the worker, and where it says it has started.
type Ahead<'scope, 'a> = (usize, ScopedJoinHandle<'scope, Work<'a>>, Receiver<Started>);

/// Processes the files of `recordings` (at least two) in order with `job.jobs - 1` workers.
pub(super) fn process_files(
    state: &mut State,
    job: &Job,
    recordings: &mut [(usize, Recording)],
    summary: &mut RunSummary,
) -> Result<(), WriteError> {
    let cancel = state.cancel;
    let ahead = job.jobs.saturating_sub(1).max(1);
    let config = *state.processor.config();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let stop = &stop;
        let mut files = recordings.iter_mut();
        let Some((first_index, first)) = files.next() else {
            return Ok(());
        };
        let first_index = *first_index;
        let mut pending: VecDeque<Ahead> = VecDeque::new();
        let mut spawn_next = |pending: &mut VecDeque<_>| {
            if let Some((index, recording)) = files.next() {
                let (starts, started) = channel();
                let handle = scope.spawn(move || work(recording, config, cancel, stop, starts));
                pending.push_back((*index, handle, started));
            }
        };
        for _ in 0..ahead {
            spawn_next(&mut pending);
        }
        let result = (|| {
            let account = Account {
                file: &mut summary.files[first_index],
                skipped: &mut summary.skipped,
            };
            state.processor.start_file(first_index);
            state.process_file(job, false, first, account)?;
            while let Some((index, handle, started)) = pending.pop_front() {
                spawn_next(&mut pending);
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                let account = Account {
                    file: &mut summary.files[index],
                    skipped: &mut summary.skipped,
                };
                state.processor.start_file(index);
                // The last file's accounting runs alone at the end: it is split over two
                // threads, using the core no worker needs any more.
                let alone = pending.is_empty();
                match started.recv() {
                    Ok(started) => state.stitch(job, started, handle, account, alone)?,
                    // The worker gave the file up before its first snapshot.
                    Err(_) => match join(handle) {
                        Work::Sequential(recording) => {
                            state.process_file(job, false, recording, account)?
                        }
                        Work::Done(_) => unreachable!("a worker done with its file has started"),
                    },
                }
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        result
    })
}

/// The worker's work, its panic passed on.
fn join<'a>(handle: ScopedJoinHandle<'_, Work<'a>>) -> Work<'a> {
    match handle.join() {
        Ok(work) => work,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Reads `recording`: the prefix as records, sent on `starts` with the spill's reader at the
/// first snapshot (or at the end, if there is none), then the book stage's outcomes into the
/// spill.
fn work<'a>(
    recording: &'a mut Recording,
    config: ProcessorConfig,
    cancel: &AtomicBool,
    stop: &AtomicBool,
    starts: Sender<Started>,
) -> Work<'a> {
    let Ok((mut spill, reader)) = SpillWriter::new() else {
        return Work::Sequential(recording);
    };
    let mut reader = Some(reader);
    let mut outcomes: u64 = 0;
    let mut prefix = Vec::new();
    let mut bad = Vec::new();
    let mut stage: Option<BookStage> = None;
    let mut rows_read = 0;
    let mut give_up = false;
    let mut start = |prefix: &mut Vec<Record>| {
        let started = Started {
            prefix: std::mem::take(prefix),
            spill: reader.take().expect("a worker starts once"),
        };
        // A stitcher gone has stopped the run.
        let _ = starts.send(started);
    };
    let mut consume = |record: Record| {
        let stage = match (&mut stage, &record) {
            (Some(stage), _) => stage,
            (None, Record::Event(Event::Book(row)))
                if row.action == BookAction::Snapshot && row.ts < config.end =>
            {
                start(&mut prefix);
                stage.insert(BookStage::new(config))
            }
            (None, _) => {
                prefix.push(record);
                if prefix.len() > MAX_PREFIX {
                    give_up = true;
                    return ControlFlow::Break(());
                }
                return ControlFlow::Continue(());
            }
        };
        match record {
            Record::Bad(row) => bad.push(row),
            Record::Event(event) => {
                if spill.push(stage.apply(&event)).is_err() {
                    give_up = true;
                    return ControlFlow::Break(());
                }
                outcomes += 1;
                if outcomes % 4096 == 0
                    && (cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed))
                {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    };
    // A worker reads its file on its own thread, inline: the other threads are busy. It runs
    // only at full speed, so it trusts the trades to be in time order by id, as the sequential
    // loop does; should they not be, or should the reading fail, it hands the file back, and
    // the sequential loop's policy (start over, sorted or checked first) gives `--jobs 1`'s
    // result.
    match recording.read(config.end, ReadMode::Inline(TradeOrder::Trusted)) {
        Ok(mut reader) => loop {
            match reader.next() {
                Ok(Next::Record(record)) => {
                    rows_read = reader.rows_read();
                    if consume(record).is_break() {
                        break;
                    }
                }
                Ok(Next::End(Ending::Complete)) | Err(FileError::Interrupted { .. }) => break,
                Ok(Next::End(Ending::TradesOutOfOrder)) | Err(_) => {
                    give_up = true;
                    break;
                }
            }
        },
        Err(FileError::Interrupted { .. }) => {}
        Err(_) => give_up = true,
    }
    // Given up, the spill is dropped unfinished: a stitcher reading it takes back what it
    // took.
    if give_up || spill.finish().is_err() {
        return Work::Sequential(recording);
    }
    if stage.is_none() {
        // No snapshot: the whole file is its prefix, and the spill is empty.
        start(&mut prefix);
    }
    Work::Done(Box::new(FileEnd {
        bad,
        stage,
        rows_read,
    }))
}

impl State<'_> {
    /// Applies a file read ahead, following its worker if it is still at it: its prefix in
    /// full, then its outcomes to the accounting stage, then its book; bad rows and a midway
    /// failure are reported as the sequential loop reports them. Should the worker give the
    /// file up after the stitching began, the state goes back to what it was before the file
    /// and the file is read here, as `--jobs 1` reads it.
    fn stitch(
        &mut self,
        job: &Job,
        started: Started,
        handle: ScopedJoinHandle<'_, Work<'_>>,
        mut account: Account<'_>,
        alone: bool,
    ) -> Result<(), WriteError> {
        let Started { prefix, spill } = started;
        // A worker done can no longer give its file up: nothing need be kept to go back to.
        // The worker's end, or the worker still at it.
        let worker = if handle.is_finished() {
            match join(handle) {
                Work::Sequential(recording) => {
                    return self.process_file(job, false, recording, account);
                }
                Work::Done(end) => Ok(end),
            }
        } else {
            Err(handle)
        };
        let mut rollback = Rollback {
            before: worker.is_err().then(|| {
                (
                    self.processor.clone(),
                    account.file.clone(),
                    account.skipped.clone(),
                )
            }),
            finished: spill.finished(),
        };
        let path = account.file.path.clone();
        let mut interrupted = false;
        for record in prefix {
            if self.apply(&record, 0, &path, &mut account)?.is_break() {
                interrupted = true;
                break;
            }
        }
        let mut replay_error = None;
        if !interrupted {
            let replayed = if alone {
                self.replay_beside_footprints(spill, account.file, &mut rollback)
            } else {
                self.replay(spill, account.file, &mut rollback)
            };
            match replayed {
                Ok(done) => interrupted = !done,
                // The run stops here, and its workers with it.
                Err(WriteOrIo::Write(error)) => return Err(error),
                Err(WriteOrIo::Io(error)) => replay_error = Some(error),
            }
        }
        let end = match worker {
            Ok(end) => end,
            Err(handle) => match join(handle) {
                Work::Done(end) => end,
                Work::Sequential(recording) => {
                    // Given up midway: what was taken from its spill is taken back.
                    tracing::info!(
                        "{}: its worker gave it up midway: taking back what was stitched of it, \
                         and reading it here",
                        path.display()
                    );
                    if let Some(before) = rollback.before {
                        (self.processor, *account.file, *account.skipped) = before;
                    }
                    if self.cancel.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    self.emitter.start_over(&mut self.processor)?;
                    return self.process_file(job, false, recording, account);
                }
            },
        };
        let FileEnd {
            bad,
            stage,
            rows_read,
        } = *end;
        if !interrupted && replay_error.is_none() {
            if let Some(stage) = stage {
                self.processor.continue_with(stage);
            }
        }
        for row in &bad {
            account.skipped.record(&path, row);
        }
        if let Some(error) = replay_error {
            report_midway(
                account.file,
                &format!(
                    "{}: cannot read back the temporary file of its events: {error}",
                    path.display()
                ),
            );
        }
        self.rows_before += rows_read;
        Ok(())
    }

    /// Replays the outcomes of `spill` through the accounting stage. Returns whether it got
    /// to the end (not interrupted).
    fn replay(
        &mut self,
        spill: Spill,
        file: &mut FileSummary,
        rollback: &mut Rollback,
    ) -> Result<bool, WriteOrIo> {
        std::thread::scope(|scope| {
            for outcome in spill.read_ahead(scope) {
                let outcome = outcome.map_err(WriteOrIo::Io)?;
                let applied = self.processor.account(&outcome);
                count(file, outcome.is_book(), applied);
                let rows = self.rows_before;
                if self.events % CLOCK_EVERY == 0 {
                    rollback.settle();
                }
                if self.tick(rows, false).map_err(WriteOrIo::Write)?.is_break() {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }
}

impl State<'_> {
    /// [`State::replay`] with the accounting split in two over the same outcomes, block by
    /// block: the footprints here
    /// ([`Processor::take_footprints`](crate::engine::Processor::take_footprints)), the rest
    /// (the bars included) on a thread of its own. On trade-heavy days the footprints are
    /// two thirds of the bars' and footprints' work, as much as the rest of the accounting.
    /// They stay on this thread, where their rows were allocated before: built on another,
    /// they took a heap arena of their own (7-9 MB more at the peak of two days). They
    /// follow the rest a few blocks behind, taking only the blocks it has taken, so a run told
    /// to stop (at the end of a block) leaves both alike. No output is written until the
    /// footprints are back.
    fn replay_beside_footprints(
        &mut self,
        spill: Spill,
        file: &mut FileSummary,
        rollback: &mut Rollback,
    ) -> Result<bool, WriteOrIo> {
        let mut away = self.processor.take_footprints();
        let processor = &mut self.processor;
        let (progress, cancel) = (&self.progress, self.cancel);
        let rows = self.rows_before;
        let replayed = std::thread::scope(|scope| {
            let (to_rest, blocks) = std::sync::mpsc::sync_channel::<Arc<Vec<Outcome>>>(4);
            let (done, taken) = std::sync::mpsc::channel::<()>();
            // The rest: as `State::replay`, with `State::tick_apart`'s progress and stop
            // (a parallel run has no player, so no prints are handed on between frames).
            let rest = scope.spawn(move || {
                let mut events: u64 = 0;
                for block in blocks {
                    for outcome in block.iter() {
                        let applied = processor.account(outcome);
                        count(file, outcome.is_book(), applied);
                    }
                    let _ = done.send(());
                    let before = events;
                    events += block.len() as u64;
                    if events / CLOCK_EVERY != before / CLOCK_EVERY {
                        progress.set_position(rows);
                        if cancel.load(Ordering::Relaxed) {
                            tracing::warn!("interrupted: writing the state reached so far");
                            return false;
                        }
                    }
                }
                true
            });
            let mut pending = VecDeque::new();
            let mut read_error = None;
            for block in spill.blocks_ahead(scope) {
                let block = match block {
                    Ok(block) => Arc::new(block),
                    Err(error) => {
                        read_error = Some(error);
                        break;
                    }
                };
                if to_rest.send(Arc::clone(&block)).is_err() {
                    break; // The rest stopped: told to, or it panicked (its join says so).
                }
                pending.push_back(block);
                rollback.settle();
                while taken.try_recv().is_ok() {
                    account_footprints(&mut away, pending.pop_front());
                }
            }
            drop(to_rest);
            let complete = match rest.join() {
                Ok(complete) => complete,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            // Whatever the rest took, and nothing more.
            while taken.try_recv().is_ok() {
                account_footprints(&mut away, pending.pop_front());
            }
            match read_error {
                Some(error) => Err(WriteOrIo::Io(error)),
                None => Ok(complete),
            }
        });
        self.processor.give_back_footprints(away);
        replayed
    }
}

/// The state before a file whose worker may still give it up, to go back to then; dropped
/// as soon as the worker has finished its spill: held, it would keep alive the footprints the
/// file pushes out of the newest 1000 (8 MB more at the peak of two trade-heavy days).
struct Rollback {
    before: Option<(Processor, FileSummary, Skipped)>,
    finished: Finished,
}

impl Rollback {
    fn settle(&mut self) {
        if self.before.is_some() && self.finished.get() {
            self.before = None;
        }
    }
}

/// Adds a block of outcomes to the footprints taken away.
fn account_footprints(away: &mut FootprintsAway, block: Option<Arc<Vec<Outcome>>>) {
    for outcome in block.iter().flat_map(|block| block.iter()) {
        away.account(outcome);
    }
}

enum WriteOrIo {
    Write(WriteError),
    Io(io::Error),
}
