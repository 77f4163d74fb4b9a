//! The option groups that several commands share: what a run processes (`ProcessArgs`, for
//! `run`, `process` and `demo`) and where the web server listens (`ServerArgs`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use orderflow::engine::ProcessorConfig;
use orderflow::replay::{Job, Speed};
use orderflow::time::{Bound, is_date, parse_bound};

/// A day in ms.
const DAY_MS: i64 = 86_400_000;

/// Options shared by `run` and `process`.
#[derive(Debug, Args)]
pub(crate) struct ProcessArgs {
    /// Instrument, e.g. BTC-USDT (matched case-insensitively in file names and rows).
    pub(crate) instrument: String,
    /// First day (UTC date YYYY-MM-DD, or an RFC 3339 time).
    pub(crate) start: String,
    /// Last day, included whole (UTC date YYYY-MM-DD, or an RFC 3339 time: then exclusive).
    /// `run --follow` may leave it out: then the run follows the recording with no end.
    pub(crate) end: Option<String>,
    /// Folder searched recursively for recordings.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "../data/OKX")]
    pub(crate) data_dir: PathBuf,
    /// Bar window in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=31_622_400))]
    pub(crate) window_seconds: u32,
    /// Levels per side in the depth snapshot.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) depth_levels: u32,
    /// Levels per side summed for OBI (default: the whole book).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) obi_levels: Option<u32>,
    /// Folder for ohlc_data.json, metrics_data.json and depth_data.json.
    #[arg(long)]
    pub(crate) json_dir: Option<PathBuf>,
    /// Least time between two writes of the JSON files (and pushes to the web UI), in ms: at
    /// least 10 (each write renames three files; more often only slows the run down).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=86_400_000))]
    pub(crate) emit_ms: u64,
    /// Also write the run summary as JSON to this file.
    #[arg(long)]
    pub(crate) summary: Option<PathBuf>,
    /// Threads (default: all cores). 1 reads and processes on one thread; more read ahead and
    /// process the later files of a range in parallel. Same results, byte for byte.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) jobs: Option<u32>,
    /// Seconds a recording may take to answer one query (an endless view never does) before
    /// it is given up as unusable and the run goes on with the other files.
    #[arg(long, default_value_t = orderflow::source::guard::DEFAULT_STALL_LIMIT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub(crate) stall_seconds: u64,
    /// `--store` and the signals (SPEC 9).
    #[command(flatten)]
    pub(crate) store: super::store_args::StoreArgs,
}

impl ProcessArgs {
    /// Turns the options into a job, checking what clap cannot.
    pub(crate) fn job(&self, json_dir: Option<PathBuf>, speed: Speed) -> anyhow::Result<Job> {
        orderflow::source::guard::set_stall_limit(Duration::from_secs(self.stall_seconds));
        let start = parse_bound(&self.start, Bound::Start).context("START")?;
        let Some(end_text) = &self.end else {
            bail!(
                "END is missing: give the last day of the range (only `run --follow` may leave it out)"
            );
        };
        let end = parse_bound(end_text, Bound::End).context("END")?;
        // A date as END earlier than START's day is out of order too (SPEC 1.1), although the
        // midnight after it may equal START: `2025-01-16 2025-01-15`.
        let start_day = start.div_euclid(DAY_MS) * DAY_MS;
        let end_day_before_start = is_date(end_text)
            && parse_bound(end_text, Bound::Start).is_ok_and(|day| day < start_day);
        if end < start || end_day_before_start {
            bail!(
                "END ({}) is before START ({}): give the range in time order",
                end_text,
                self.start
            );
        }
        if self.instrument.trim().is_empty() {
            bail!("INSTRUMENT is empty: give one such as BTC-USDT");
        }
        Ok(Job {
            instrument: self.instrument.clone(),
            data_dir: self.data_dir.clone(),
            config: ProcessorConfig {
                window_ms: i64::from(self.window_seconds) * 1000,
                depth_levels: self.depth_levels as usize,
                obi_levels: self.obi_levels.map(|levels| levels as usize),
                start,
                end,
            },
            emit_every: Duration::from_millis(self.emit_ms),
            speed,
            json_dir,
            progress: true,
            jobs: jobs(self.jobs),
            follow: false,
            heatmap_ms: None,
            trade_bars: None,
        })
    }
}

/// More threads than this many per core only add memory and switches: each reads a file ahead.
const JOBS_PER_CORE: usize = 4;

/// The threads of a run: all cores by default; `--jobs` at most [`JOBS_PER_CORE`] per core
/// (a warning says so when it is cut down).
fn jobs(asked: Option<u32>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let Some(asked) = asked else { return cores };
    let cap = JOBS_PER_CORE * cores;
    let asked = usize::try_from(asked).unwrap_or(usize::MAX);
    if asked > cap {
        tracing::warn!("--jobs {asked} is more than {JOBS_PER_CORE} per core: using {cap}");
    }
    asked.min(cap)
}

/// Where the web server of `run`, `serve` and `demo` listens.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Address the web server listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port the web server listens on.
    #[arg(long, default_value_t = 8050)]
    pub(crate) port: u16,
}
