//! A replay: the recordings of a range, read in time order, through the engine, into the
//! outputs (the seed's `main.py` loop, SPEC 1.1, 2 and 4). The one place that knows both a
//! source and the outputs; neither knows the other.
//!
//! One idea per file: [`run`] here goes over the range; `files.rs` picks the files and their
//! order; `attempt.rs` reads one file, with its retry policy; `emit.rs` hands the state to the
//! outputs at a cadence, `pace.rs` holds events back to a replay speed; `verdict.rs` gives the
//! exit status; `parallel.rs` reads later files ahead on workers, through `spill.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::engine::Processor;
use crate::output::Output;
use crate::output::json_files::{CreateError, JsonFiles, WriteError};
use crate::output::live::{LiveFeed, Phase};
use crate::source::{DiscoverError, find_candidates};
use summary::RunSummary;

mod attempt;
mod emit;
mod files;
mod job;
mod pace;
mod parallel;
mod spill;
mod state;
pub mod summary;
mod verdict;

use attempt::Account;
use emit::{Emitter, progress_bar, status_for};
pub use job::{Job, Speed};
use pace::Pacer;
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
        outputs.push(Box::new(JsonFiles::create(dir)?));
    }
    let mut processor = Processor::new(job.config);
    if let Some(live) = live {
        outputs.push(Box::new(live.clone()));
        if let Some(slice_ms) = job.heatmap_ms {
            live.heatmap().start(slice_ms);
            outputs.push(Box::new(live.heatmap().clone()));
            processor = processor
                .with_heatmap(slice_ms)
                .with_heatmap_sink(live.heatmap().shared());
        }
    }
    let emitter = Emitter::new(outputs, job.emit_every, status_for(job), &mut processor)?;

    let candidates = find_candidates(&job.data_dir, &job.instrument)?;
    let mut recordings = files::open_in_range(&candidates, job, &mut summary);
    let rows_estimate: u64 = recordings
        .iter()
        .map(|(_, rec)| rec.info().rows_estimate)
        .sum();
    let progress = progress_bar(job.progress, rows_estimate);

    let mut state = State {
        processor,
        emitter,
        pacer: Pacer::new(job.speed),
        progress,
        rows_before: 0,
        rows_estimate,
        events: 0,
        cancel,
    };
    let parallel = job.jobs >= 2 && recordings.len() >= 2 && job.speed == Speed::Max;
    if parallel && state.processor.heatmap_ms().is_none() {
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
            state.process_file(job, job.jobs > 1, recording, account)?;
        }
    }
    let State {
        mut processor,
        mut emitter,
        progress,
        rows_before,
        ..
    } = state;
    progress.finish_and_clear();
    processor.finish_heatmap();
    summary.interrupted = cancel.load(Ordering::SeqCst);

    let counts = processor.counts();
    summary.book_rows = counts.book_rows;
    summary.warmup_book_rows = counts.warmup_book_rows;
    summary.trades = counts.trades;
    summary.first_ts = counts.first_ts;
    summary.last_ts = counts.last_ts;
    summary.bars = processor.bars().len() as u64;
    summary.metric_bars = processor.metric_bars().len() as u64;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;

    let (verdict, problem) = verdict::verdict(job, &summary, &candidates);
    emitter.status.phase = if verdict == Verdict::NoData {
        Phase::Failed
    } else {
        Phase::Done
    };
    emitter.status.message = match (&problem, summary.interrupted) {
        (Some(problem), _) => problem.clone(),
        (None, true) => "interrupted: the state reached when the run was stopped".to_owned(),
        (None, false) => "done".to_owned(),
    };
    emitter.status.progress = 1.0;
    emitter.emit(&mut processor, rows_before, rows_estimate)?;
    Ok(RunReport {
        summary,
        verdict,
        problem,
    })
}
