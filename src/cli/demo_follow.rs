//! `orderflow demo --follow`: a synthetic recorder writing live (`synth --live`) on a thread,
//! and `run --follow` on what it writes, until Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use orderflow::synth::{Journal, LiveOptions, SynthConfig, record_live};

use super::options::{ProcessArgs, ServerArgs};
use super::print::{complain, say};
use super::run::{self, RunArgs};
use super::signals::Stop;
use orderflow::replay::Speed;

/// Minutes of market written at once before the live pace, so that the page has bars to show.
const BACKFILL_MINUTES: i64 = 30;

/// The demo's instrument, and how it makes the options of `run` for a folder and a range.
pub(crate) struct DemoRun {
    pub(crate) instrument: &'static str,
    pub(crate) process_args: fn(&Path, &[&str]) -> anyhow::Result<ProcessArgs>,
    /// `--heatmap-ms` and `--no-heatmap`, as given to the demo.
    pub(crate) heatmap_ms: u32,
    pub(crate) no_heatmap: bool,
}

pub(crate) fn demo_follow(
    server: ServerArgs,
    hours: f64,
    data_dir: Option<PathBuf>,
    demo: DemoRun,
    stop: &Stop,
) -> anyhow::Result<u8> {
    // A folder of its own for each demo: a live recording is written in place, and never into
    // a file that exists (SPEC 4).
    let (dir, _temporary) = match data_dir {
        Some(dir) => (dir, None),
        None => {
            let temporary = tempfile::Builder::new()
                .prefix("orderflow-demo-live-")
                .tempdir()
                .context("making a folder for the live demo's recording")?;
            (temporary.path().to_owned(), Some(temporary))
        }
    };
    if !(hours > 0.0 && hours <= 24.0) {
        bail!("--hours {hours} is out of range: give a number of hours above 0 and at most 24");
    }
    let backfill_ms = BACKFILL_MINUTES * 60_000;
    let start_ms = chrono::Utc::now().timestamp_millis() - backfill_ms;
    let mut config = SynthConfig::new(&dir);
    config.instrument = demo.instrument.to_owned();
    config.start_ms = start_ms;
    config.hours = hours + BACKFILL_MINUTES as f64 / 60.0;
    config.snapshot_levels = 100;
    // A resubscription every 5 minutes, and now and then a lost message: the page shows the
    // gaps and the spans when the book could not be trusted.
    config.snapshot_every_ms = Some(5 * 60_000);
    config.drop_rate = 0.0002;
    let live = LiveOptions {
        journal: Journal::Wal,
        backfill_ms,
    };
    let cancel = Arc::clone(&stop.on_signals().cancel);
    say!("recording live into {} (Ctrl-C to stop)", dir.display());
    let recorder = std::thread::spawn(move || record_live(&config, &live, &cancel, &mut |_| {}));
    let start = chrono::DateTime::from_timestamp_millis(start_ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .context("the demo's start")?;
    // The first file must be there before the run looks for it.
    while !recorder.is_finished() && std::fs::read_dir(&dir).map_or(0, |d| d.count()) == 0 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if recorder.is_finished() {
        return match recorder.join() {
            Ok(Err(error)) => Err(error.into()),
            _ => bail!("the live recorder stopped before writing anything"),
        };
    }
    let run_args = RunArgs {
        process: (demo.process_args)(&dir, &[&start])?,
        server,
        speed: Speed::Max,
        follow: true,
        paused: false,
        checkpoint_events: orderflow::replay::CHECKPOINT_EVERY,
        prints_between_frames: orderflow::replay::PRINTS_BETWEEN_FRAMES,
        // The heatmap of a live recording fills as it is written.
        heatmap_ms: demo.heatmap_ms,
        no_heatmap: demo.no_heatmap,
        tick_bars: None,
        volume_bars: None,
    };
    let code = run::run(run_args, stop);
    stop.cancel.store(true, std::sync::atomic::Ordering::SeqCst);
    match recorder.join() {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => complain!("error: the live recorder stopped: {error}"),
        Err(_) => complain!("error: the live recorder failed"),
    }
    code
}
