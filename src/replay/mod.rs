//! A replay: the recordings of a range, read in time order, through the engine, into the
//! outputs (the seed's `main.py` loop, SPEC 1.1, 2 and 4). The one place that knows both a
//! source and the outputs; neither knows the other.
//!
//! One idea per file: [`run`] here goes over the range; `files.rs` picks the files and their
//! order; `attempt.rs` reads one file, with its retry policy; `emit.rs` hands the state to the
//! outputs at a cadence, `pace.rs` holds events back to a replay speed; `verdict.rs` gives the
//! exit status; `parallel.rs` reads later files ahead on workers, through `spill.rs`;
//! `follow.rs` keeps reading a file as it is recorded (`run --follow`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::engine::Processor;
use crate::output::Output;
use crate::output::footprint_file::FootprintFile;
use crate::output::json_files::{CreateError, JsonFiles, WriteError};
use crate::output::live::{LiveFeed, Phase};
use crate::output::seed_json::MAX_BARS;
use crate::source::{DiscoverError, find_candidates};
use summary::{IntegritySummary, RunSummary};

mod attempt;
pub mod control;
mod controlled;
mod emit;
mod files;
mod follow;
mod job;
mod pace;
mod parallel;
mod player;
mod spill;
mod state;
pub mod summary;
mod tape;
mod verdict;

use attempt::Account;
use control::Control;
pub use emit::PRINTS_BETWEEN_FRAMES;
use emit::{Emitter, progress_bar, status_for};
pub use job::{Job, Speed};
use pace::Pacer;
pub use player::CHECKPOINT_EVERY;
use player::Player;
use state::State;
pub use verdict::Verdict;

/// The end of a run: its summary, its verdict and, for `NoData`, what to tell the user.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub summary: RunSummary,
    pub verdict: Verdict,
    pub problem: Option<String>,
}

/// A run that could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Output(#[from] WriteError),
    #[error(transparent)]
    Outputs(#[from] CreateError),
    #[error(transparent)]
    Discover(#[from] DiscoverError),
}

/// Runs `job` to its end, or until `cancel` is set; either way the outputs end holding the
/// final state.
///
/// # Errors
/// [`JobError`] when the JSON files cannot be written (or are not orderflow's to replace) or
/// the data folder cannot be read.
pub fn run(job: &Job, live: Option<&LiveFeed>, cancel: &AtomicBool) -> Result<RunReport, JobError> {
    play(job, live, Vec::new(), None, cancel, |_| {})
}

/// [`run`] with more outputs (such as the store) beside the JSON files and the live feed.
///
/// # Errors
/// As [`run`].
pub fn run_with(
    job: &Job,
    live: Option<&LiveFeed>,
    more: Vec<Box<dyn Output>>,
    cancel: &AtomicBool,
) -> Result<RunReport, JobError> {
    play(job, live, more, None, cancel, |_| {})
}

/// A replay under control (SPEC 8): how it starts, and the control the page drives it with.
pub struct Controlled<'c> {
    pub control: &'c Control,
    /// Start paused at START (`--paused`); `job.speed` is the first speed.
    pub paused: bool,
    /// Events between two checkpoints of the whole state (a seek goes over at most this
    /// many): [`CHECKPOINT_EVERY`] unless a test wants them closer.
    pub checkpoint_every: usize,
    /// Closed prints the state shown holds at most between two frames before it hands them
    /// on ([`PRINTS_BETWEEN_FRAMES`] unless a test wants them handed on sooner).
    pub prints_between_frames: usize,
}

/// Runs `job` as [`run`] does; under control, `on_end` is given the report once the whole
/// range has been processed (or the run was stopped), and the replay then stays in the
/// control's hands (seek, step, play again) until `cancel` is set. Returns that report.
///
/// # Errors
/// As [`run`].
pub fn play(
    job: &Job,
    live: Option<&LiveFeed>,
    more: Vec<Box<dyn Output>>,
    controlled: Option<Controlled<'_>>,
    cancel: &AtomicBool,
    on_end: impl FnOnce(&RunReport),
) -> Result<RunReport, JobError> {
    let started = Instant::now();
    let mut summary = RunSummary {
        instrument: job.instrument.clone(),
        start: job.config.start,
        end: job.config.end,
        ..RunSummary::default()
    };
    // The run's outputs: a new one is one more line here.
    let mut outputs: Vec<Box<dyn Output>> = Vec::new();
    if let Some(dir) = &job.json_dir {
        // Every target is checked before any is written.
        let mut footprint = FootprintFile::check(dir)?;
        outputs.push(Box::new(JsonFiles::create(dir)?));
        footprint.reset()?;
        // `--jobs 1` runs on one thread.
        footprint.write_apart(job.jobs > 1);
        outputs.push(Box::new(footprint));
    }
    let mut processor = Processor::new(job.config);
    if let Some(live) = live
        && let Some(slice_ms) = job.heatmap_ms
    {
        live.heatmap().start(slice_ms);
        outputs.push(Box::new(live.heatmap().clone()));
        processor = processor
            .with_heatmap(slice_ms)
            .with_heatmap_sink(live.heatmap().shared());
    }
    if live.is_some()
        && let Some(size) = job.trade_bars
    {
        processor = processor.with_trade_bars(size);
    }
    // More outputs (the store) may take every footprint, and the prints.
    let more_footprints = !more.is_empty();
    let more_prints = more.iter().any(|output| output.wants_prints());
    outputs.extend(more);
    if let Some(live) = live {
        // Last: when the page is told of a frame (the run is done, say), every other output
        // has shown it (the heatmap its slices, the store the signals).
        outputs.push(Box::new(live.clone()));
    }
    if live.is_none() {
        // Only the live feed (and a store) shows prints and footprints beyond the newest 1000
        // bars of footprint_data.json: `process` counts prints and keeps none, and keeps the
        // footprints of those bars only.
        if !more_prints {
            processor.drop_prints();
        }
        if !more_footprints {
            processor.keep_newest_footprints(MAX_BARS);
        }
    }
    let player = match &controlled {
        Some(controlled) => Some(Player::new(
            controlled.control.clone(),
            tape::Tape::new().map_err(controlled::tape_error)?,
            &processor,
            controlled.paused,
            job.speed,
            controlled.checkpoint_every,
        )),
        None => None,
    };
    let mut status = status_for(job);
    status.playback = player
        .as_ref()
        .map(|player| player.playback(Some(job.config.start), job.config.start));
    if controlled.is_some() {
        for output in &mut outputs {
            output.replaying();
        }
    }
    let mut emitter = Emitter::new(outputs, job.emit_every, status, &mut processor)?;
    emitter.prints_between_frames = controlled
        .as_ref()
        .map(|controlled| controlled.prints_between_frames);

    let candidates = find_candidates(&job.data_dir, &job.instrument)?;
    let mut recordings = files::open_in_range(&candidates, job, &mut summary);
    let rows_estimate: u64 = recordings
        .iter()
        .map(|(_, rec)| rec.info().rows_estimate)
        .sum();
    let newest = match job.follow {
        true => follow::take_newest(&mut recordings, job, &summary),
        false => None,
    };
    let progress = progress_bar(job.progress, rows_estimate);
    let mut emitter = emitter;
    emitter.files = summary
        .files
        .iter()
        .map(|file| file.path.display().to_string())
        .collect();

    // Under control the player keeps the pace.
    let pace = if player.is_some() {
        Speed::Max
    } else {
        job.speed
    };
    let mut state = State {
        processor,
        emitter,
        pacer: Pacer::new(pace),
        progress,
        rows_before: 0,
        rows_estimate,
        events: 0,
        cancel,
        player,
    };
    if state.player.is_some() {
        state.show_player()?;
        state.emitter.emit(&mut state.processor, 0, rows_estimate)?;
    }
    // The heatmap needs the book at every slice end: its files are read one after another.
    let parallel = job.jobs >= 2
        && recordings.len() >= 2
        && pace == Speed::Max
        && state.player.is_none()
        && state.processor.heatmap_ms().is_none()
        && state.processor.trade_bars().is_none();
    if parallel {
        parallel::process_files(&mut state, job, &mut recordings, &mut summary)?;
    } else {
        for (index, recording) in &mut recordings {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let account = Account {
                file: &mut summary.files[*index],
                skipped: &mut summary.skipped,
            };
            state.processor.start_file(*index);
            state.process_file(job, job.jobs > 1, recording, account)?;
        }
    }
    if job.follow && !cancel.load(Ordering::Relaxed) {
        follow::follow(&mut state, job, newest, &mut summary)?;
    }
    if let Some(player) = state.player.as_mut() {
        // Every event has been read; the run ends when the replay has shown them all (or is
        // told to stop), as a paced run always did.
        player.frontier = None;
        state.admit(None, true)?;
    }
    state.progress.finish_and_clear();
    state.processor.finish_heatmap();
    summary.interrupted = cancel.load(Ordering::SeqCst);

    // What the outputs hold: every event, unless the run was stopped before.
    let processor = &state.processor;
    let counts = processor.counts();
    summary.book_rows = counts.book_rows;
    summary.warmup_book_rows = counts.warmup_book_rows;
    summary.trades = counts.trades;
    summary.first_ts = counts.first_ts;
    summary.last_ts = counts.last_ts;
    summary.bars = processor.bars().len() as u64;
    summary.bars_in_json = job
        .json_dir
        .as_ref()
        .map(|_| summary.bars.min(crate::output::seed_json::MAX_BARS as u64));
    summary.metric_bars = processor.metric_bars().len() as u64;
    summary.integrity = IntegritySummary::new(processor.integrity(), &summary.files);
    summary.elapsed_ms = started.elapsed().as_millis() as u64;

    let (verdict, problem) = verdict::verdict(job, &summary, &candidates);
    // Never "done" for a run that was stopped or failed.
    let phase = match (verdict, summary.interrupted) {
        (Verdict::NoData, _) => Phase::Failed,
        (_, true) => Phase::Interrupted,
        (_, false) => Phase::Done,
    };
    let status = &mut state.emitter.status;
    status.phase = phase;
    status.message = match (&problem, summary.interrupted) {
        (Some(problem), _) => problem.clone(),
        (None, true) => "interrupted: the state reached when the run was stopped".to_owned(),
        (None, false) => "done".to_owned(),
    };
    if phase == Phase::Done {
        status.progress = 1.0;
    }
    if let Some(player) = state.player.as_mut() {
        player.ended = Some(phase);
        player.frontier = None;
    }
    state.show_player()?;
    let rows_before = state.rows_before;
    state
        .emitter
        .emit(&mut state.processor, rows_before, rows_estimate)?;
    let report = RunReport {
        summary,
        verdict,
        problem,
    };
    on_end(&report);
    if state.player.is_some() {
        // The replay stays in the control's hands until the program is stopped.
        state.admit(None, false)?;
    }
    Ok(report)
}
