//! The processing run: finds the recordings of a range, streams their events through the
//! engine and hands the state to the outputs (the seed's `main.py` loop, SPEC 1.1, 2 and 4).
//!
//! This is the one place that knows both a source and the outputs; neither knows the other.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Applied, Event, Millis, Outcome, Processor, ProcessorConfig};
use crate::output::json_files::{CreateError, JsonFiles, MAX_BARS, WriteError};
use crate::output::live::{LiveFeed, Phase, Status, Update};
use crate::output::summary::{FileStatus, FileSummary, RunSummary, Skipped};
use crate::source::{
    DiscoverError, Ending, FileError, FileInfo, Next, ReadMode, Reader, Record, Recording,
    TradeOrder, find_candidates,
};
use crate::time::format_ms;

mod parallel;

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
    /// (see `pipeline/parallel.rs`). The result is the same either way.
    pub jobs: usize,
}

/// How a run ended, and its exit status (SPEC 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every candidate was usable and there was data in range.
    Complete,
    /// Data was processed, but some candidate file could not be used.
    UnusableFiles,
    /// No candidate file, or no valid data in the range.
    NoData,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Complete => 0,
            Verdict::UnusableFiles => 1,
            Verdict::NoData => 2,
        }
    }
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
    let json = job.json_dir.as_deref().map(JsonFiles::create).transpose()?;
    let emitter = Emitter::new(json, live.cloned(), job.emit_every, status_for(job));

    let candidates = find_candidates(&job.data_dir, &job.instrument)?;
    let mut recordings = open_in_range(&candidates, job, &mut summary);
    let rows_estimate: u64 = recordings
        .iter()
        .map(|(_, rec)| rec.info().rows_estimate)
        .sum();
    let progress = progress_bar(job.progress, rows_estimate);

    let mut state = Stitched {
        processor: Processor::new(job.config),
        emitter,
        pacer: Pacer::new(job.speed),
        progress,
        rows_before: 0,
        rows_estimate,
    };
    if job.jobs >= 2 && recordings.len() >= 2 && job.speed == Speed::Max {
        parallel::process_files(&mut state, job, &mut recordings, &mut summary, cancel)?;
    } else {
        for (index, recording) in &mut recordings {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let file = &mut summary.files[*index];
            state.process_file(
                job,
                job.jobs > 1,
                recording,
                file,
                &mut summary.skipped,
                cancel,
            )?;
        }
    }
    let Stitched {
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

    let (verdict, problem) = verdict(job, &summary, &candidates);
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

/// Opens every candidate, keeps those whose data overlaps the range, in processing order
/// (first book timestamp, then path), and records every candidate in the summary.
fn open_in_range(
    candidates: &[PathBuf],
    job: &Job,
    summary: &mut RunSummary,
) -> Vec<(usize, Recording)> {
    let (start, end) = (job.config.start, job.config.end);
    let mut used = Vec::new();
    for path in candidates {
        match Recording::open(path, &job.instrument) {
            // The run was told to stop while SQLite was at work: no fault of the file.
            Err(FileError::Interrupted { .. }) => break,
            Err(error) => {
                tracing::error!("{error}");
                let mut file = FileSummary::new(path, FileStatus::Unusable);
                file.error = Some(error.to_string());
                summary.files.push(file);
            }
            Ok(mut recording) => {
                let overlaps = |range: Option<(Millis, Millis)>| {
                    range.is_some_and(|(first, last)| first < end && last >= start)
                };
                // The ends by `id` of a table not in time order by `id` may hide data in
                // range (SPEC 1.1): before passing a file over, its true ends are scanned.
                if !overlaps(recording.info().range) && recording.info().range.is_some() {
                    if let Err(error) = recording.scan_range() {
                        tracing::warn!("{error}");
                    }
                }
                let info = recording.info();
                for warning in &info.warnings {
                    tracing::warn!("{}: {warning}", path.display());
                }
                let overlaps = overlaps(info.range);
                let status = if overlaps {
                    FileStatus::Used
                } else {
                    FileStatus::OutOfRange
                };
                summary.files.push(FileSummary::from_info(info, status));
                if overlaps {
                    used.push((summary.files.len() - 1, recording));
                }
            }
        }
    }
    used.sort_by(|(_, a), (_, b)| order_key(a.info()).cmp(&order_key(b.info())));
    warn_of_overlaps(&used, summary);
    used
}

fn order_key(info: &FileInfo) -> (Option<Millis>, &Path) {
    (info.first_ts, &info.path)
}

/// Two files whose ranges overlap are both used, with a warning (SPEC 1.1).
fn warn_of_overlaps(used: &[(usize, Recording)], summary: &mut RunSummary) {
    for (i, (index_a, a)) in used.iter().enumerate() {
        for (index_b, b) in &used[i + 1..] {
            let (Some((a_first, a_last)), Some((b_first, b_last))) =
                (a.info().range, b.info().range)
            else {
                continue;
            };
            if a_first <= b_last && b_first <= a_last {
                let warning = format!(
                    "{} and {} overlap in time; both are used, and bars of the same window are merged",
                    a.info().path.display(),
                    b.info().path.display()
                );
                tracing::warn!("{warning}");
                summary.files[*index_a].warnings.push(warning.clone());
                summary.files[*index_b].warnings.push(warning);
            }
        }
    }
}

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

/// The state of the run in event order: the processor every event ends in, and what shows it.
struct Stitched {
    processor: Processor,
    emitter: Emitter,
    pacer: Pacer,
    progress: ProgressBar,
    /// Rows read from the files done.
    rows_before: u64,
    rows_estimate: u64,
}

impl Stitched {
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
    fn process_file(
        &mut self,
        job: &Job,
        read_ahead: bool,
        recording: &mut Recording,
        file: &mut FileSummary,
        skipped: &mut Skipped,
        cancel: &AtomicBool,
    ) -> Result<(), WriteError> {
        let mode = match (read_ahead, job.speed) {
            (false, _) => ReadMode::Inline,
            (true, Speed::Max) => ReadMode::Threads(TradeOrder::Trusted),
            (true, _) => ReadMode::Threads(TradeOrder::Checked),
        };
        if mode != ReadMode::Threads(TradeOrder::Trusted) {
            // Only a trusting read starts over.
            return self
                .read_file(job, recording, mode, file, skipped, cancel)
                .map(|_| ());
        }
        let before = (self.processor.clone(), file.clone(), skipped.clone());
        let Read::StartOver { order, why } =
            self.read_file(job, recording, mode, file, skipped, cancel)?
        else {
            return Ok(());
        };
        if cancel.load(Ordering::Relaxed) {
            // A run told to stop keeps the state it reached, as in any other file.
            return Ok(());
        }
        tracing::info!("{why}");
        (self.processor, *file, *skipped) = before;
        self.emitter.start_over(&mut self.processor);
        self.read_file(
            job,
            recording,
            ReadMode::Threads(order),
            file,
            skipped,
            cancel,
        )
        .map(|_| ())
    }

    /// Reads `recording` as `mode` says and applies its records.
    fn read_file(
        &mut self,
        job: &Job,
        recording: &mut Recording,
        mode: ReadMode,
        file: &mut FileSummary,
        skipped: &mut Skipped,
        cancel: &AtomicBool,
    ) -> Result<Read, WriteError> {
        let path = recording.info().path.clone();
        tracing::info!("reading {}", path.display());
        let trusted = mode == ReadMode::Threads(TradeOrder::Trusted);
        let mut rows_read = 0;
        let read = match recording.read(job.config.end, mode) {
            Ok(mut reader) => {
                let read = self.apply_all(&mut reader, &path, file, skipped, cancel)?;
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
            Err(error) => report_midway(file, &error.to_string()),
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
        file: &mut FileSummary,
        skipped: &mut Skipped,
        cancel: &AtomicBool,
    ) -> Result<Result<Ending, FileError>, WriteError> {
        let mut events: u64 = 0;
        loop {
            let record = match reader.next() {
                Ok(Next::Record(record)) => record,
                Ok(Next::End(ending)) => return Ok(Ok(ending)),
                Err(error) => return Ok(Err(error)),
            };
            let rows_read = reader.rows_read();
            if self
                .apply(&record, rows_read, path, file, skipped, cancel, &mut events)?
                .is_break()
            {
                return Ok(Ok(Ending::Complete));
            }
            // Its level vectors go back to the reader, which parses the next rows into them
            // instead of allocating.
            if let Record::Event(event) = record {
                reader.recycle(event);
            }
        }
    }

    /// Applies one record of a file; breaks when the run is interrupted.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        record: &Record,
        rows_read: u64,
        path: &Path,
        file: &mut FileSummary,
        skipped: &mut Skipped,
        cancel: &AtomicBool,
        events: &mut u64,
    ) -> Result<ControlFlow<()>, WriteError> {
        let event = match record {
            Record::Event(event) => event,
            Record::Bad(bad) => {
                skipped.record(path, bad);
                return Ok(ControlFlow::Continue(()));
            }
        };
        let Stitched {
            processor,
            emitter,
            pacer,
            progress,
            rows_before,
            rows_estimate,
        } = self;
        let applied = processor.apply(event);
        count(file, event, applied);
        *events += 1;
        let rows_read = *rows_before + rows_read;
        let paced = applied == Applied::InRange
            && pacer.wait(event.ts(), cancel, &mut || {
                emitter.emit_if_due(processor, rows_read, *rows_estimate)
            })?;
        if paced || *events % CLOCK_EVERY == 0 {
            progress.set_position(rows_read);
            emitter.emit_if_due(processor, rows_read, *rows_estimate)?;
            if cancel.load(Ordering::Relaxed) {
                tracing::warn!("interrupted: writing the state reached so far");
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Counts an event in its file's summary: book rows applied (in range or warm-up), and every
/// valid trade.
fn count(file: &mut FileSummary, event: &Event, applied: Applied) {
    match (event, applied) {
        (Event::Book(_), Applied::InRange | Applied::Warmup) => file.book_rows += 1,
        (Event::Trade(_), _) => file.trades += 1,
        _ => {}
    }
}

/// [`count`] for an outcome replayed from a file read ahead.
fn count_outcome(file: &mut FileSummary, outcome: &Outcome, applied: Applied) {
    match (outcome, applied) {
        (Outcome::Book { .. }, Applied::InRange | Applied::Warmup) => file.book_rows += 1,
        (Outcome::Trade(_), _) => file.trades += 1,
        _ => {}
    }
}

fn report_midway(file: &mut FileSummary, error: &str) {
    tracing::error!("{error}; what was read before is kept");
    file.status = FileStatus::FailedMidway;
    file.error = Some(format!("{error}; the rows read before were kept"));
}

/// The exit verdict of SPEC 4 and, when there was nothing to show, a message that says what
/// was looked at and what to do.
fn verdict(job: &Job, summary: &RunSummary, candidates: &[PathBuf]) -> (Verdict, Option<String>) {
    let range = format!(
        "{} to {}",
        format_ms(job.config.start),
        format_ms(job.config.end)
    );
    let dir = job.data_dir.display();
    if candidates.is_empty() {
        return (
            Verdict::NoData,
            Some(format!(
                "no recording of {} found in {dir} (searched recursively for .db, .sqlite and .sqlite3 \
                 files whose name holds the instrument, e.g. {}-2025-01-15.db); point --data-dir or \
                 ORDERFLOW_DATA_DIR at your recordings",
                job.instrument, job.instrument
            )),
        );
    }
    if summary.book_rows + summary.trades == 0 {
        let looked_at: Vec<String> = summary
            .files
            .iter()
            .map(|file| match (file.status, file.first_ts, file.last_ts) {
                (FileStatus::Unusable, ..) => format!("{} (unusable)", file.path.display()),
                (_, Some(first), Some(last)) => {
                    format!(
                        "{} ({} to {})",
                        file.path.display(),
                        format_ms(first),
                        format_ms(last)
                    )
                }
                _ => format!(
                    "{} (no valid rows of {})",
                    file.path.display(),
                    job.instrument
                ),
            })
            .collect();
        return (
            Verdict::NoData,
            Some(format!(
                "no valid data of {} from {range} in {dir}; candidates looked at: {}",
                job.instrument,
                looked_at.join(", ")
            )),
        );
    }
    let unusable = summary
        .files
        .iter()
        .any(|f| matches!(f.status, FileStatus::Unusable | FileStatus::FailedMidway));
    if unusable {
        (Verdict::UnusableFiles, None)
    } else {
        (Verdict::Complete, None)
    }
}

fn status_for(job: &Job) -> Status {
    Status {
        instrument: job.instrument.clone(),
        start: job.config.start,
        end: job.config.end,
        phase: Phase::Processing,
        message: format!(
            "reading recordings of {} in {}",
            job.instrument,
            job.data_dir.display()
        ),
        ..Status::default()
    }
}

fn progress_bar(show: bool, total: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar:.cyan/blue} {percent:>3}% {human_pos}/{human_len} rows, {per_sec}, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("█▉▊▋▌▍▎▏ "));
    }
    bar
}

/// Writes the outputs at most once per `every`, and once more at the end.
struct Emitter {
    json: Option<JsonFiles>,
    live: Option<LiveFeed>,
    every: Duration,
    last: Instant,
    started: Instant,
    status: Status,
}

impl Emitter {
    fn new(
        json: Option<JsonFiles>,
        live: Option<LiveFeed>,
        every: Duration,
        status: Status,
    ) -> Self {
        let now = Instant::now();
        if let Some(live) = &live {
            live.publish(Update {
                status: status.clone(),
                ..Update::default()
            });
        }
        Emitter {
            json,
            live,
            every,
            last: now,
            started: now,
            status,
        }
    }

    fn emit_if_due(
        &mut self,
        processor: &mut Processor,
        rows_read: u64,
        rows_estimate: u64,
    ) -> Result<(), WriteError> {
        if self.last.elapsed() >= self.every {
            self.emit(processor, rows_read, rows_estimate)?;
        }
        Ok(())
    }

    /// After a file started over from the state before it: the page takes the whole state
    /// afresh (the JSON files are written whole at every write anyway).
    fn start_over(&mut self, processor: &mut Processor) {
        processor.take_changes();
        if let Some(live) = &self.live {
            live.reset(
                processor.bars().tail(usize::MAX).copied().collect(),
                processor.metric_bars().tail(usize::MAX).copied().collect(),
                processor.depth(),
                self.status.clone(),
            );
        }
    }

    fn emit(
        &mut self,
        processor: &mut Processor,
        rows_read: u64,
        rows_estimate: u64,
    ) -> Result<(), WriteError> {
        self.last = Instant::now();
        let depth = processor.depth();
        if let Some(json) = &mut self.json {
            json.write(
                processor.bars().tail(MAX_BARS),
                processor.metric_bars().tail(MAX_BARS),
                &depth,
            )?;
        }
        let changes = processor.take_changes();
        if let Some(live) = &self.live {
            let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
            self.status.rows_read = rows_read;
            self.status.rows_per_sec = rows_read as f64 / seconds;
            if self.status.phase == Phase::Processing && rows_estimate > 0 {
                self.status.progress = (rows_read as f64 / rows_estimate as f64).min(1.0);
            }
            self.status.replay_ts = processor.counts().last_ts;
            live.publish(Update {
                bars: changes.bars,
                metric_bars: changes.metric_bars,
                depth,
                status: self.status.clone(),
            });
        }
        Ok(())
    }
}

/// Holds events back so that they are replayed at a multiple of real time.
struct Pacer {
    speed: Speed,
    /// The first paced event's timestamp and the instant it was replayed.
    anchor: Option<(Millis, Instant)>,
}

impl Pacer {
    fn new(speed: Speed) -> Self {
        Pacer {
            speed,
            anchor: None,
        }
    }

    /// Sleeps until the event at `ts` is due, calling `tick` at least every 100 ms meanwhile
    /// so the outputs keep moving. Returns whether the loop is paced (not at full speed).
    fn wait<E>(
        &mut self,
        ts: Millis,
        cancel: &AtomicBool,
        tick: &mut dyn FnMut() -> Result<(), E>,
    ) -> Result<bool, E> {
        let Speed::Times(times) = self.speed else {
            return Ok(false);
        };
        let (first_ts, first_instant) = *self.anchor.get_or_insert((ts, Instant::now()));
        let offset =
            Duration::from_secs_f64(((ts - first_ts).max(0) as f64 / 1000.0 / times).min(1e9));
        let due = first_instant + offset;
        while !cancel.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(100)));
            tick()?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An emitter writing JSON files into a fresh folder, and a processor holding one trade.
    fn emitter_and_processor(every: Duration) -> (tempfile::TempDir, Emitter, Processor) {
        let dir = tempfile::tempdir().unwrap();
        let json = JsonFiles::create(dir.path()).unwrap();
        let emitter = Emitter::new(Some(json), None, every, Status::default());
        let config = ProcessorConfig {
            window_ms: 60_000,
            depth_levels: 50,
            obi_levels: None,
            start: 0,
            end: i64::MAX,
        };
        let mut processor = Processor::new(config);
        let trade = crate::engine::Trade {
            id: 1,
            ts: 120_500,
            price: 100.0,
            size: 2.0,
            side: crate::engine::Side::Buy,
        };
        processor.apply(&crate::engine::Event::Trade(trade));
        (dir, emitter, processor)
    }

    fn ohlc(dir: &tempfile::TempDir) -> String {
        std::fs::read_to_string(dir.path().join("ohlc_data.json")).unwrap()
    }

    #[test]
    fn writes_are_throttled_to_one_per_emit_interval() {
        let (dir, mut emitter, mut processor) = emitter_and_processor(Duration::from_secs(3600));
        for _ in 0..10 {
            emitter.emit_if_due(&mut processor, 0, 0).unwrap();
        }
        assert_eq!(
            ohlc(&dir),
            "[]",
            "not due within the interval: the files stay as they were"
        );
        emitter.emit(&mut processor, 0, 0).unwrap();
        assert_eq!(
            ohlc(&dir),
            "[\n[120000,100.0,100.0,100.0,100.0,2.0]\n]",
            "the final write"
        );
    }

    #[test]
    fn a_due_write_happens() {
        let (dir, mut emitter, mut processor) = emitter_and_processor(Duration::ZERO);
        emitter.emit_if_due(&mut processor, 0, 0).unwrap();
        assert!(ohlc(&dir).contains("[120000,"), "{}", ohlc(&dir));
    }

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

    #[test]
    fn exit_codes_follow_the_spec() {
        assert_eq!(Verdict::Complete.exit_code(), 0);
        assert_eq!(Verdict::UnusableFiles.exit_code(), 1);
        assert_eq!(Verdict::NoData.exit_code(), 2);
    }
}
