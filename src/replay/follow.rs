//! `run --follow` (SPEC 10.1): after the recorded data, the run keeps reading what the
//! recorder commits to the instrument's newest file, and moves to the next file (the next
//! day) when one appears, until the range's end or Ctrl-C.
//!
//! The newest file is read by a [`Tail`] from its first row (the files before it as in any
//! run): every [`POLL`] it reads the rows committed since, and the records whose place in the
//! time order is known go through the same `State::apply` as any file's. A record that waited
//! [`HOLD`] goes out early; the state before it is kept until its place is known, and should
//! a row read later belong before it, the state goes back and the records go again in order. The outputs are
//! shown as soon as `--emit-ms` allows, so a committed row is on the page within
//! `POLL + HOLD + --emit-ms` (700 ms with the defaults; BENCHMARKS.md has the measure).

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::attempt::{Account, report_midway};
use super::job::Job;
use super::state::State;
use super::summary::{FileStatus, FileSummary, RunSummary, Skipped};
use crate::engine::{Event, Millis, Processor};
use crate::output::json_files::WriteError;
use crate::source::{FileError, Record, Recording, Release, Tail, find_candidates};

/// Time between two looks for new rows.
pub(super) const POLL: Duration = Duration::from_millis(50);
/// How long a row waits for the other table to catch up before it goes out anyway (see
/// `source/tail_merge.rs`).
const HOLD: Duration = Duration::from_millis(150);
/// Time between two looks for a new file of the instrument.
const SCAN: Duration = Duration::from_secs(1);

/// The file being followed: its number in the summary, its tail, and what was applied since
/// a record went out before its place was known.
struct Followed {
    index: usize,
    tail: Tail,
    early: Option<Early>,
}

/// The state before a record went out early ([`Release::Early`]), and every record applied
/// since, in order: should a row read later belong before one of them, the state goes back
/// and they are applied again in the order now known, so that the result is that of the whole
/// file's merge (as `process` gives it).
struct Early {
    processor: Processor,
    file: FileSummary,
    skipped: Skipped,
    records: Vec<Record>,
    since: Instant,
}

/// How long (or for how many records) the state before an early record is kept: a table that
/// stays quiet longer only costs its late rows their exact place.
const EARLY_KEPT: Duration = Duration::from_secs(10);
const EARLY_RECORDS: usize = 200_000;

/// Takes the file to follow out of the files of the range: the newest of them, or, when none
/// is in range yet (a range that starts after the recorded data, or a file with no rows yet),
/// the newest candidate.
pub(super) fn take_newest(
    recordings: &mut Vec<(usize, Recording)>,
    job: &Job,
    summary: &RunSummary,
) -> Option<(usize, Recording)> {
    if let Some((_, last)) = recordings.last() {
        if last.can_tail() {
            return recordings.pop();
        }
        // Read once with the others, as it is now.
        tracing::warn!(
            "{}: its `id` is not the INTEGER PRIMARY KEY of its tables: it cannot be followed, \
             and is read as it is now",
            last.info().path.display()
        );
        return None;
    }
    let (index, file) = summary
        .files
        .iter()
        .enumerate()
        // A file the recorder has just made holds no rows yet.
        .filter(|(_, file)| {
            matches!(
                file.status,
                FileStatus::OutOfRange | FileStatus::NoRowsOfInstrument
            )
        })
        .max_by_key(|(_, file)| (file.first_ts, file.path.clone()))?;
    Recording::open(&file.path, &job.instrument)
        .ok()
        .map(|recording| (index, recording))
}

/// Why following ended.
enum Stop {
    /// Cancelled (Ctrl-C), or an output could not be written.
    Cancelled,
    /// An event at or after the range's end was read.
    RangeEnd,
}

/// Follows `newest` (when there is one) and then each newer file of the instrument, until the
/// range's end or the run is cancelled.
pub(super) fn follow(
    state: &mut State,
    job: &Job,
    newest: Option<(usize, Recording)>,
    summary: &mut RunSummary,
) -> Result<(), WriteError> {
    // A file unusable at the start may be one the recorder was creating: it is looked at
    // again at each scan.
    let mut known: HashSet<PathBuf> = summary
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Unusable)
        .map(|f| f.path.clone())
        .collect();
    let mut current = newest.and_then(|(index, recording)| start(state, index, recording, summary));
    let mut last_scan = Instant::now();
    let mut rows_read: u64 = 0;
    loop {
        if state.cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut more = false;
        if let Some(followed) = &mut current {
            match followed.tail.poll() {
                Ok((rows, left)) => {
                    rows_read += rows;
                    more = left;
                }
                Err(error) => {
                    lost(followed, &error, summary);
                    current = None;
                    continue;
                }
            }
            match apply_ready(state, followed, summary, rows_read, false)? {
                ControlFlow::Continue(()) => {}
                ControlFlow::Break(Stop::Cancelled) => return Ok(()),
                ControlFlow::Break(Stop::RangeEnd) => return end_of_range(state),
            }
        }
        let rows = state.rows_before + rows_read;
        if !more && current.as_ref().is_none_or(|f| f.tail.waiting() == 0) {
            // Caught up with the recorder: all there is has been read.
            state.rows_estimate = rows;
        }
        state
            .emitter
            .emit_if_due(&mut state.processor, rows, state.rows_estimate)?;
        if last_scan.elapsed() >= SCAN {
            last_scan = Instant::now();
            if let Some((path, recording)) = newer_file(job, &mut known, current.as_ref()) {
                if let Some(followed) = &mut current {
                    match finish(state, followed, summary, &mut rows_read)? {
                        ControlFlow::Continue(()) => {}
                        ControlFlow::Break(Stop::Cancelled) => return Ok(()),
                        ControlFlow::Break(Stop::RangeEnd) => return end_of_range(state),
                    }
                }
                tracing::info!("a new file appeared: {}", path.display());
                summary
                    .files
                    .push(FileSummary::from_info(recording.info(), FileStatus::Used));
                let index = summary.files.len() - 1;
                state.emitter.files.push(path.display().to_string());
                current = start(state, index, recording, summary);
            }
        }
        if !more {
            std::thread::sleep(POLL);
        }
    }
}

/// Starts following `recording`, number `index` in the summary.
fn start(
    state: &mut State,
    index: usize,
    recording: Recording,
    summary: &mut RunSummary,
) -> Option<Followed> {
    let path = recording.info().path.clone();
    let file = &mut summary.files[index];
    file.status = FileStatus::Used;
    match recording.tail() {
        Ok(tail) => {
            tracing::info!("following {}", path.display());
            state.processor.start_file(index);
            state.emitter.status.message =
                format!("following {} as it is recorded", path.display());
            Some(Followed {
                index,
                tail,
                early: None,
            })
        }
        Err(error) => {
            report_midway(file, &error.to_string());
            None
        }
    }
}

/// A followed file that turned unreadable: what was read is kept.
fn lost(followed: &Followed, error: &FileError, summary: &mut RunSummary) {
    report_midway(&mut summary.files[followed.index], &error.to_string());
}

/// Applies the records of `followed` whose place is known (all of them with `drain`).
fn apply_ready(
    state: &mut State,
    followed: &mut Followed,
    summary: &mut RunSummary,
    rows_read: u64,
    drain: bool,
) -> Result<ControlFlow<Stop>, WriteError> {
    let end = state.processor.config().end;
    let path = followed.tail.path().to_owned();
    if followed.tail.inverted() {
        go_back(state, followed, summary)?;
    }
    while let Some((record, release)) = followed.tail.next(HOLD, drain) {
        if let Record::Event(event) = &record {
            if event.ts() >= end {
                return Ok(ControlFlow::Break(Stop::RangeEnd));
            }
            widen(&mut summary.files[followed.index], event);
        }
        if release == Release::Early && followed.early.is_none() {
            followed.early = Some(Early {
                processor: state.processor.clone(),
                file: summary.files[followed.index].clone(),
                skipped: summary.skipped.clone(),
                records: Vec::new(),
                since: Instant::now(),
            });
        }
        if let Some(early) = &mut followed.early {
            early.records.push(record.clone());
        }
        let mut account = Account {
            file: &mut summary.files[followed.index],
            skipped: &mut summary.skipped,
        };
        let rows = state.rows_before + rows_read;
        if state.apply(&record, rows, &path, &mut account)?.is_break() {
            return Ok(ControlFlow::Break(Stop::Cancelled));
        }
    }
    // The early records have found their place (or were kept long enough): they stay.
    let keep = followed.early.as_ref().is_some_and(|early| {
        followed.tail.settled()
            || drain
            || early.since.elapsed() >= EARLY_KEPT
            || early.records.len() >= EARLY_RECORDS
    });
    if keep {
        followed.early = None;
        followed.tail.settle();
    }
    Ok(ControlFlow::Continue(()))
}

/// A row read late belongs before records that went out early: back to the state before
/// them, and they go again, in the order now known.
fn go_back(
    state: &mut State,
    followed: &mut Followed,
    summary: &mut RunSummary,
) -> Result<(), WriteError> {
    let Some(early) = followed.early.take() else {
        followed.tail.settle();
        return Ok(());
    };
    tracing::debug!(
        "{}: a row came late: {} records taken again in time order",
        followed.tail.path().display(),
        early.records.len()
    );
    state.processor = early.processor;
    summary.files[followed.index] = early.file;
    summary.skipped = early.skipped;
    followed.tail.requeue(early.records, HOLD);
    state.emitter.start_over(&mut state.processor)
}

/// Reads what is left of a file the recorder has moved on from, and applies it all.
fn finish(
    state: &mut State,
    followed: &mut Followed,
    summary: &mut RunSummary,
    rows_read: &mut u64,
) -> Result<ControlFlow<Stop>, WriteError> {
    loop {
        match followed.tail.poll() {
            Ok((rows, more)) => {
                *rows_read += rows;
                if let ControlFlow::Break(stop) =
                    apply_ready(state, followed, summary, *rows_read, false)?
                {
                    return Ok(ControlFlow::Break(stop));
                }
                if !more {
                    break;
                }
            }
            Err(error) => {
                lost(followed, &error, summary);
                break;
            }
        }
    }
    apply_ready(state, followed, summary, *rows_read, true)
}

/// The file's range in the summary grows with the rows followed.
fn widen(file: &mut FileSummary, event: &Event) {
    let ts: Millis = event.ts();
    file.first_ts = Some(file.first_ts.map_or(ts, |first| first.min(ts)));
    file.last_ts = Some(file.last_ts.map_or(ts, |last| last.max(ts)));
}

fn end_of_range(state: &mut State) -> Result<(), WriteError> {
    tracing::info!("the range's end is reached: following stops");
    state.emitter.status.message = "the range's end is reached".to_owned();
    Ok(())
}

/// A file of the instrument that was not there before and holds data from after the one
/// followed: the recorder's next file. Files that cannot be opened yet (the recorder is
/// creating them) are looked at again at the next scan.
fn newer_file(
    job: &Job,
    known: &mut HashSet<PathBuf>,
    current: Option<&Followed>,
) -> Option<(PathBuf, Recording)> {
    let candidates = find_candidates(&job.data_dir, &job.instrument).ok()?;
    let current_key = current.map(|f| {
        let info = f.tail.recording().info();
        (info.first_ts, info.path.clone())
    });
    let mut newest: Option<(PathBuf, Recording)> = None;
    for path in candidates {
        if known.contains(&path) {
            continue;
        }
        let Ok(recording) = Recording::open(&path, &job.instrument) else {
            continue;
        };
        if recording.info().range.is_none() {
            continue;
        }
        known.insert(path.clone());
        if !recording.can_tail() {
            tracing::warn!(
                "{}: appeared while following, but its `id` is not the INTEGER PRIMARY KEY of its tables: it cannot be followed",
                path.display()
            );
            continue;
        }
        let key = (recording.info().first_ts, path.clone());
        if current_key.as_ref().is_some_and(|current| key <= *current) {
            tracing::warn!(
                "{}: appeared while following, but its data is older than the file followed; it is not read",
                path.display()
            );
            continue;
        }
        let newer = newest
            .as_ref()
            .is_none_or(|(_, best)| key > (best.info().first_ts, best.info().path.clone()));
        if newer {
            newest = Some((path, recording));
        }
    }
    newest
}
