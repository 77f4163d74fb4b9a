//! `orderflow run`: `process` with the live web page served while the range is processed.

use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::Args;
use orderflow::output::live::{LiveFeed, Status};
use orderflow::replay::{self, Speed};

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
    /// Heatmap slice length in ms (SPEC 7): the book is sampled at every slice end and served
    /// at `/api/heatmap`; a whole number, at least 100.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(100..))]
    pub(crate) heatmap_ms: u32,
}

/// Processes the range while serving the live page; keeps serving after the end until Ctrl-C.
///
/// The exit status is the processing's: a signal that only stops the server after the end
/// leaves it as it was (the summary says the run was not interrupted).
pub(crate) fn run(args: RunArgs, stop: &Stop) -> anyhow::Result<u8> {
    let summary_file = args.process.summary.as_deref();
    let mut job = args
        .process
        .job(args.process.json_dir.clone(), args.speed)?;
    job.heatmap_ms = Some(i64::from(args.heatmap_ms));
    check_summary_file(summary_file, job.json_dir.as_deref())?;
    let cancel = &stop.cancel;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let feed = LiveFeed::new(Status {
        instrument: job.instrument.clone(),
        ..Status::default()
    });
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
    let server_task = Some(runtime.spawn(orderflow::web::serve(listener, feed.clone(), shutdown)));
    let report = replay::run(&job, Some(&feed), cancel)?;
    let code = finish(&report, summary_file, stop)?;
    if let Some(task) = server_task {
        if !cancel.load(Ordering::Relaxed) {
            say!("processing finished; the page stays up until Ctrl-C");
        }
        match runtime.block_on(task) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => complain!("error: the web server stopped: {error}"),
            Err(error) => complain!("error: the web server failed: {error}"),
        }
    }
    Ok(code)
}
