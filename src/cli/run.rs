//! `orderflow run`: `process` with the live web page served while the range is processed.

use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::Args;
use orderflow::engine::TradeBarSize;
use orderflow::output::live::{LiveFeed, Status};
use orderflow::output::status::Playback;
use orderflow::replay::control::Control;
use orderflow::replay::{self, Controlled, Speed};

use super::options::{ProcessArgs, ServerArgs};
use super::print::{complain, say};
use super::process::{check_summary_file, finish};
use super::serve::announce;
use super::signals::{Stop, until_cancelled};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) process: ProcessArgs,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    /// Replay speed: `max`, or a multiple of real time (e.g. 60).
    #[arg(long, default_value = "max")]
    pub(crate) speed: Speed,
    /// After the recorded data, keep reading what the recorder commits (and the instrument's
    /// next files) until END or Ctrl-C; END may then be left out. No replay control then.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Start paused at START: the page's play button (or `POST /api/replay`) starts the replay.
    #[arg(long)]
    pub(crate) paused: bool,
    /// Events between two checkpoints of the state that a seek goes back to (for tests).
    #[arg(long, hide = true, default_value_t = replay::CHECKPOINT_EVERY)]
    pub(crate) checkpoint_events: usize,
    /// Closed prints held at most between two frames before they are handed on (for tests).
    #[arg(long, hide = true, default_value_t = replay::PRINTS_BETWEEN_FRAMES)]
    pub(crate) prints_between_frames: usize,
    /// Heatmap slice length in ms (SPEC 7): the book is sampled at every slice end and served
    /// at `/api/heatmap`; a whole number, at least 100.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(100..))]
    pub(crate) heatmap_ms: u32,
    /// Keep no heatmap: the run then costs the memory of the heatmap's store less (about
    /// 90 MB for a day of a 400-level book) and may read its files in parallel.
    #[arg(long, conflicts_with = "heatmap_ms")]
    pub(crate) no_heatmap: bool,
    /// Also cut the trades into tick bars of N trades each (the last may hold fewer), shown
    /// under the charts and served at `/api/trade_bars`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "volume_bars")]
    pub(crate) tick_bars: Option<u64>,
    /// Also cut the trades into volume bars of V each (base currency): the trade that brings a
    /// bar's volume to V or more is its last (no trade is split).
    #[arg(long, value_name = "V", value_parser = positive)]
    pub(crate) volume_bars: Option<f64>,
}

/// A finite number above 0.
pub(crate) fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("{text:?} is not a number above 0")),
    }
}

/// The END of `run --follow` without one: the last day SPEC 1.4 finds plausible.
const OPEN_END: &str = "2099-12-31";

/// Processes the range while serving the live page; keeps serving after the end until Ctrl-C.
///
/// The exit status is the processing's: a signal that only stops the server after the end
/// leaves it as it was (the summary says the run was not interrupted).
pub(crate) fn run(mut args: RunArgs, stop: &Stop) -> anyhow::Result<u8> {
    if args.follow && args.process.end.is_none() {
        args.process.end = Some(OPEN_END.to_owned());
    }
    let summary_file = args.process.summary.as_deref();
    let mut job = args
        .process
        .job(args.process.json_dir.clone(), args.speed)?;
    job.follow = args.follow;
    job.heatmap_ms = (!args.no_heatmap).then_some(i64::from(args.heatmap_ms));
    job.trade_bars = match (args.tick_bars, args.volume_bars) {
        (Some(n), _) => Some(TradeBarSize::Trades(n)),
        (None, Some(v)) => Some(TradeBarSize::Volume(v)),
        (None, None) => None,
    };
    check_summary_file(summary_file, job.json_dir.as_deref())?;
    let cancel = &stop.cancel;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // The range is known from the start: a seek asked before the first frame is checked
    // against it.
    let feed = LiveFeed::new(Status {
        instrument: job.instrument.clone(),
        start: job.config.start,
        end: job.config.end,
        playback: (!job.follow).then_some(Playback {
            playing: !args.paused,
            speed: match job.speed {
                Speed::Max => None,
                Speed::Times(times) => Some(times),
            },
            position: job.config.start,
            loaded_to: job.config.start,
            window_ms: job.config.window_ms,
        }),
        ..Status::default()
    });
    let store = args.process.store.output(&job, Some(&feed), cancel)?;
    let server = &args.server;
    // Without its page, `run` would be `process` with an exit status that hides why: it stops
    // before any work instead (exit 2), and says what to do.
    let listener = runtime
        .block_on(orderflow::web::bind(&server.host, server.port))
        .with_context(|| {
            format!(
                "the web page cannot be served on {}:{}; give another --port (0 picks a free one), \
                 or use `orderflow process` to process without a page",
                server.host, server.port
            )
        })?;
    announce(&listener)?;
    let shutdown = until_cancelled(cancel.clone());
    let control = Control::default();
    let server_task = Some(runtime.spawn(orderflow::web::serve_with_control(
        listener,
        feed.clone(),
        control.clone(),
        shutdown,
    )));
    // Following has no replay control: its state goes back on its own when a late row arrives
    // (`replay/follow.rs`), which the tape of a controlled replay does not follow.
    let controlled = (!job.follow).then_some(Controlled {
        control: &control,
        paused: args.paused,
        checkpoint_every: args.checkpoint_events,
        prints_between_frames: args.prints_between_frames,
    });
    let more = store.into_iter().collect();
    // The summary and the exit status are the processing's, once the range has been
    // processed; the replay then stays at the page's command until Ctrl-C.
    let mut code = None;
    replay::play(&job, Some(&feed), more, controlled, cancel, |report| {
        code = Some(finish(report, summary_file, stop));
        if job.follow {
            return;
        }
        if !cancel.load(Ordering::Relaxed) {
            say!("processing finished; the page stays up (seek, step, play again) until Ctrl-C");
        }
    })?;
    let code = code.unwrap_or(Ok(2))?;
    if let Some(task) = server_task {
        match runtime.block_on(task) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => complain!("error: the web server stopped: {error}"),
            Err(error) => complain!("error: the web server failed: {error}"),
        }
    }
    Ok(code)
}
