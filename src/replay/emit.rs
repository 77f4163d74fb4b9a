//! Handing the state to the outputs: at most once per `--emit-ms`, and once more at the end;
//! the status the page shows, and the progress bar on the terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Changes, Processor};
use crate::output::json_files::WriteError;
use crate::output::live::{Phase, Status};
use crate::output::status::{IntegrityExample, IntegrityStatus};
use crate::output::{Frame, Output};

use super::job::Job;

pub(super) fn status_for(job: &Job) -> Status {
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

pub(super) fn progress_bar(show: bool, total: u64) -> ProgressBar {
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

/// Shows the outputs the state at most once per `every`, and once more at the end.
pub(super) struct Emitter {
    outputs: Vec<Box<dyn Output>>,
    every: Duration,
    last: Instant,
    started: Instant,
    pub(super) status: Status,
    /// The run's files by their number, to name integrity examples.
    pub(super) files: Vec<String>,
    /// A replay under control: the closed prints its state shown holds at most before they
    /// are handed on between frames ([`Emitter::show_prints_if_many`]).
    pub(super) prints_between_frames: Option<usize>,
}

impl Emitter {
    /// Shows each of `outputs` the state of `processor` at the start (empty).
    pub(super) fn new(
        outputs: Vec<Box<dyn Output>>,
        every: Duration,
        status: Status,
        processor: &mut Processor,
    ) -> Result<Self, WriteError> {
        let now = Instant::now();
        let mut emitter = Emitter {
            outputs,
            every,
            last: now,
            started: now,
            status,
            files: Vec::new(),
            prints_between_frames: None,
        };
        emitter.emit(processor, 0, 0)?;
        Ok(emitter)
    }

    pub(super) fn emit_if_due(
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

    /// After a file started over from the state before it: the outputs take the whole state
    /// afresh.
    /// Hands every output the closed prints of a state read ahead ([`Output::hold_prints`]).
    pub(super) fn hold_prints(&mut self, changes: &crate::engine::PrintChanges, closed: u64) {
        for output in &mut self.outputs {
            output.hold_prints(changes, closed);
        }
    }

    /// When the state shown of a replay under control holds `prints_between_frames` closed
    /// prints or more, not shown yet: hands them to the outputs in a frame of their own
    /// ([`Output::show_prints`]).
    pub(super) fn show_prints_if_many(
        &mut self,
        processor: &mut Processor,
    ) -> Result<(), WriteError> {
        let Some(most) = self.prints_between_frames else {
            return Ok(());
        };
        if processor.print_tape().waiting() < most.max(1) {
            return Ok(());
        }
        let changes = Changes {
            prints: processor.take_closed_prints(),
            ..Changes::default()
        };
        self.show_frame(processor, &changes, |output, frame| {
            output.show_prints(frame)
        })
    }

    pub(super) fn start_over(&mut self, processor: &mut Processor) -> Result<(), WriteError> {
        self.show(processor, |output, frame| output.restart(frame))
    }

    /// Shows every output a frame of `processor`'s state, through `show` (a method of
    /// [`Output`]).
    fn show(
        &mut self,
        processor: &mut Processor,
        show: impl Fn(&mut dyn Output, &Frame<'_>) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let changes = processor.take_changes();
        self.show_frame(processor, &changes, show)?;
        // The heatmap ends, as the rest, where the state is: with the slice still open.
        processor.show_heatmap_tail();
        Ok(())
    }

    /// Shows every output, through `show`, the frame of `processor`'s state with `changes`.
    fn show_frame(
        &mut self,
        processor: &Processor,
        changes: &Changes,
        show: impl Fn(&mut dyn Output, &Frame<'_>) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let depth = processor.depth();
        let frame = Frame {
            processor,
            changes,
            depth: &depth,
            status: &self.status,
        };
        for output in &mut self.outputs {
            show(output.as_mut(), &frame)?;
        }
        Ok(())
    }

    pub(super) fn emit(
        &mut self,
        processor: &mut Processor,
        rows_read: u64,
        rows_estimate: u64,
    ) -> Result<(), WriteError> {
        self.last = Instant::now();
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        self.status.rows_read = rows_read;
        self.status.rows_per_sec = rows_read as f64 / seconds;
        if self.status.phase == Phase::Processing && rows_estimate > 0 {
            self.status.progress = (rows_read as f64 / rows_estimate as f64).min(1.0);
        }
        self.status.replay_ts = processor.counts().last_ts;
        self.status.integrity = integrity_status(processor, &self.files);
        self.show(processor, |output, frame| output.show(frame))
    }
}

/// Closed prints a replay's state shown holds at most between two frames (1 MB): a run at full
/// speed makes some 300,000 a second, which a frame every 500 ms would hold at once.
pub const PRINTS_BETWEEN_FRAMES: usize = 32_768;

/// Spans of uncertainty the status carries at most (the latest).
const MAX_SPANS: usize = 1000;

/// The integrity findings of `processor` for the status, the files named from `files`.
fn integrity_status(processor: &Processor, files: &[String]) -> IntegrityStatus {
    let integrity = processor.integrity();
    let config = processor.config();
    let spans = integrity.uncertain_within(config.start, config.end);
    IntegrityStatus {
        gaps: integrity.gaps,
        resets: integrity.resets,
        heartbeats: integrity.heartbeats,
        crossed: integrity.crossed,
        examples: integrity
            .examples
            .iter()
            .map(|example| IntegrityExample {
                file: files.get(example.file).cloned().unwrap_or_default(),
                row_id: example.row_id,
                kind: example.kind.as_str(),
            })
            .collect(),
        uncertain: spans[spans.len().saturating_sub(MAX_SPANS)..].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ProcessorConfig;
    use crate::output::json_files::JsonFiles;

    /// An emitter writing JSON files into a fresh folder, and a processor holding one trade.
    fn emitter_and_processor(every: Duration) -> (tempfile::TempDir, Emitter, Processor) {
        let dir = tempfile::tempdir().unwrap();
        let json = JsonFiles::create(dir.path()).unwrap();
        let config = ProcessorConfig {
            window_ms: 60_000,
            depth_levels: 50,
            obi_levels: None,
            start: 0,
            end: i64::MAX,
        };
        let mut processor = Processor::new(config);
        let outputs: Vec<Box<dyn Output>> = vec![Box::new(json)];
        let emitter = Emitter::new(outputs, every, Status::default(), &mut processor).unwrap();
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
}
