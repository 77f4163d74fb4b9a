//! A replay: the recordings of a range, read in time order, through the engine, into the
//! outputs (the seed's `main.py` loop, SPEC 1.1, 2 and 4). The one place that knows both a
//! source and the outputs; neither knows the other.
//!
//! One idea per file: [`run`] here goes over the range; `files.rs` picks the files and their
//! order; `attempt.rs` reads one file, with its retry policy; `emit.rs` hands the state to the
//! outputs at a cadence, `pace.rs` holds events back to a replay speed; `verdict.rs` gives the
//! exit status; `parallel.rs` reads later files ahead on workers, through `spill.rs`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::engine::{Processor, ProcessorConfig};
use crate::output::Output;
use crate::output::json_files::{CreateError, JsonFiles, WriteError};
use crate::output::live::{LiveFeed, Phase};
use crate::output::summary::RunSummary;
use crate::source::{DiscoverError, find_candidates};

mod attempt;
mod emit;
mod files;
mod pace;
mod parallel;
mod spill;
mod verdict;

use attempt::Account;
use emit::{Emitter, progress_bar, status_for};
use pace::Pacer;
pub use verdict::Verdict;

/// How often (in events) the loop looks at the clock when running at full speed.
const CLOCK_EVERY: u64 = 256;

/// How fast events are replayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the machine can.
    Max,
    /// This many times real time, measured on the events' timestamps.
    Times(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(text: &str) -> Result<Speed, String> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let times = text.trim_end_matches(['x', 'X']);
        match times.parse::<f64>() {
            Ok(times) if times.is_finite() && times > 0.0 => Ok(Speed::Times(times)),
            _ => Err(format!(
                "speed {text:?} is neither `max` nor a positive multiple of real time such as 60"
            )),
        }
    }
}

/// One processing job: what to read, how to aggregate, where the results go.
#[derive(Debug, Clone)]
pub struct Job {
    pub instrument: String,
    pub data_dir: PathBuf,
    pub config: ProcessorConfig,
    /// Least time between two writes of the outputs.
    pub emit_every: Duration,
    pub speed: Speed,
    pub json_dir: Option<PathBuf>,
    /// Show a progress bar on the terminal (it stays quiet when stderr is not one).
    pub progress: bool,
    /// Threads (`--jobs`): 1 reads and processes on one thread; more read each file on
    /// threads that parse ahead of the engine (one per table) and, on a range of several files at
    /// full speed, read and run the book stage of up to `jobs - 1` later files in parallel
    /// (see `replay/parallel.rs`). The result is the same either way.
    pub jobs: usize,
}

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
    if let Some(live) = live {
        outputs.push(Box::new(live.clone()));
    }
    let mut processor = Processor::new(job.config);
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
    if job.jobs >= 2 && recordings.len() >= 2 && job.speed == Speed::Max {
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

/// The state of the run in event order: the processor every event ends in, and what shows it.
struct State<'c> {
    processor: Processor,
    emitter: Emitter,
    pacer: Pacer,
    progress: ProgressBar,
    /// Rows read from the files done.
    rows_before: u64,
    rows_estimate: u64,
    /// Events applied so far, for the cadence of [`State::tick`].
    events: u64,
    /// Set when the run is told to stop.
    cancel: &'c AtomicBool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_max_or_a_positive_multiple() {
        assert_eq!("max".parse(), Ok(Speed::Max));
        assert_eq!("MAX".parse(), Ok(Speed::Max));
        assert_eq!("60".parse(), Ok(Speed::Times(60.0)));
        assert_eq!("2.5x".parse(), Ok(Speed::Times(2.5)));
        for bad in ["0", "-1", "fast", "inf", "NaN", ""] {
            assert!(bad.parse::<Speed>().is_err(), "{bad}");
        }
    }
}
