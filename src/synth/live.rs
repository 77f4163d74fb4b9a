//! `synth --live`: the synthetic market written at the pace of its timestamps, into day files
//! created new and appended to in place, as a recorder writes them: so that `run --follow`
//! (SPEC 10.1), the demo and the tests can show following without a network.
//!
//! Row `k` (at `start + k * interval`) is committed when `backfill + k * interval` has passed
//! since the start: the first `backfill` of data at once (in transactions of many rows), then
//! a transaction per book row and its trades. At UTC midnight of the timestamps the next day's
//! file appears.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::Millis;

use super::writer::{Journal, LiveFile};
use super::{DAY_MS, Plan, Rows, SynthConfig, SynthError, SynthFile, SynthReport, day_file_name};

/// How a live recording is written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveOptions {
    pub journal: Journal,
    /// Data written at once at the start, ms of timestamps.
    pub backfill_ms: Millis,
}

/// Rows committed in one transaction at most while catching up with the clock.
const BATCH_STEPS: u64 = 1_000;

/// Writes the recording of `config` at the pace of its timestamps until its end or `cancel`;
/// `on_file` hears of each file when it appears. Returns what was written.
///
/// # Errors
/// As [`super::generate`]: an option out of range, a day file that exists, a file that
/// cannot be written.
pub fn record_live(
    config: &SynthConfig,
    live: &LiveOptions,
    cancel: &AtomicBool,
    on_file: &mut dyn FnMut(&SynthFile),
) -> Result<SynthReport, SynthError> {
    let started = Instant::now();
    let plan = Plan::new(config)?;
    if let Some(path) = super::day_files(config)?
        .into_iter()
        .find(|path| path.symlink_metadata().is_ok())
    {
        return Err(SynthError::Exists { path });
    }
    std::fs::create_dir_all(&config.out_dir).map_err(|source| SynthError::CreateDir {
        path: config.out_dir.clone(),
        source,
    })?;
    let interval = plan.params.interval_ms;
    let mut rows = Rows::new(config, &plan);
    let mut report = SynthReport {
        files: Vec::new(),
        book_rows: 0,
        trades: 0,
        level_text_bytes: 0,
        file_bytes: 0,
        elapsed: Duration::ZERO,
    };
    // When step `k` is due: `backfill` ahead of the clock.
    let due = |step: u64| {
        let ms = (step as Millis * interval - live.backfill_ms).max(0);
        started + Duration::from_millis(ms as u64)
    };
    let mut step = 0u64;
    while step < plan.steps && !cancel.load(Ordering::Relaxed) {
        let first_ts = config.start_ms + step as Millis * interval;
        let day_start = first_ts.div_euclid(DAY_MS) * DAY_MS;
        let file_end = (day_start + DAY_MS).min(plan.end_ms);
        let path = config
            .out_dir
            .join(day_file_name(&config.instrument, day_start));
        let file = LiveFile::create(path, live.journal)?;
        let mut summary = SynthFile::new(file.path(), first_ts);
        on_file(&summary);
        let mut inserts = file.inserts(&config.instrument)?;
        loop {
            // Wait for the next row's time, a look at `cancel` every 100 ms.
            while let Some(wait) = due(step).checked_duration_since(Instant::now()) {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(wait.min(Duration::from_millis(100)));
            }
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            // One transaction: the rows due now (many while catching up).
            file.batch("BEGIN")?;
            let mut in_batch = 0;
            loop {
                let ts = config.start_ms + step as Millis * interval;
                if step >= plan.steps || ts >= file_end {
                    break;
                }
                rows.step(step, ts, day_start, file_end, &mut inserts, &mut summary)
                    .map_err(|e| file.error(e))?;
                step += 1;
                in_batch += 1;
                if in_batch >= BATCH_STEPS || due(step) > Instant::now() {
                    break;
                }
            }
            file.batch("COMMIT")?;
            let ts = config.start_ms + step as Millis * interval;
            if step >= plan.steps || ts >= file_end {
                break;
            }
        }
        drop(inserts);
        summary.bytes = std::fs::metadata(file.path()).map_or(0, |m| m.len());
        finish(&mut report, summary);
    }
    report.level_text_bytes = rows.level_text_bytes;
    report.elapsed = started.elapsed();
    Ok(report)
}

fn finish(report: &mut SynthReport, summary: SynthFile) {
    report.book_rows += summary.book_rows;
    report.trades += summary.trades;
    report.file_bytes += summary.bytes;
    report.files.push(summary);
}
