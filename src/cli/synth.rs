//! `orderflow synth`: synthetic recordings, one file per UTC day.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use orderflow::synth::{Journal, LiveOptions, SynthConfig, record_live};
use orderflow::time::{Bound, parse_bound};

use super::print::say;
use super::signals::Stop;

#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// Folder to write the recordings into (one file per UTC day).
    #[arg(long)]
    out: PathBuf,
    /// Instrument name, used in the rows and the file names.
    #[arg(long, default_value = "BTC-USDT")]
    instrument: String,
    /// Start (UTC date YYYY-MM-DD, or an RFC 3339 time); default 2025-01-15, or with `--live`
    /// now less `--backfill-minutes`.
    #[arg(long)]
    start: Option<String>,
    /// Length of the recording in hours (fractions allowed).
    #[arg(long, default_value_t = 1.0)]
    hours: f64,
    /// Seed of the random generator: the same options and seed give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Time between two book rows, in ms.
    #[arg(long, default_value_t = 100)]
    book_interval_ms: u32,
    /// Mean number of trades per minute (they come in bursts around it).
    #[arg(long, default_value_t = 1200.0)]
    trades_per_minute: f64,
    /// Levels per side in the snapshot and in the book.
    #[arg(long, default_value_t = 400)]
    levels: usize,
    /// Price step; its decimals are the decimals of every price.
    #[arg(long, default_value_t = 0.1)]
    tick_size: f64,
    /// Mid price at the start.
    #[arg(long, default_value_t = 96_000.0)]
    start_price: f64,
    /// Decimals of sizes.
    #[arg(long, default_value_t = 8)]
    size_decimals: u32,
    /// Daily volatility of the mid price, as a fraction (0.02 = 2 %).
    #[arg(long, default_value_t = 0.02)]
    daily_volatility: f64,
    /// Fraction of book messages lost (0 to 1): their rows are not written, which leaves gaps
    /// in the seqId/prevSeqId chain and a wrong book until the next snapshot.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// A snapshot row every this many minutes of the day (besides each file's first row).
    #[arg(long)]
    snapshot_every_minutes: Option<u32>,
    /// Write at the pace of the timestamps, as a recorder does (for `run --follow`): files
    /// are created new and appended to, a transaction per book row, until `--hours` of data
    /// or Ctrl-C.
    #[arg(long)]
    live: bool,
    /// With `--live`: the journal mode of the files (`wal` or `delete`, SQLite's default).
    #[arg(long, default_value = "wal", value_parser = ["wal", "delete"])]
    journal: String,
    /// With `--live`: minutes of data written at once at the start, before the live pace.
    #[arg(long, default_value_t = 0.0)]
    backfill_minutes: f64,
}

/// The default start of a recording that is not live.
const DEFAULT_START: &str = "2025-01-15";

pub(crate) fn synth(args: SynthArgs, stop: &Stop) -> anyhow::Result<()> {
    if !(args.backfill_minutes.is_finite() && (0.0..=1e6).contains(&args.backfill_minutes)) {
        bail!("--backfill-minutes must be a number of minutes from 0");
    }
    let backfill_ms = (args.backfill_minutes * 60_000.0).round() as i64;
    let mut config = SynthConfig::new(args.out);
    config.instrument = args.instrument;
    config.start_ms = match (&args.start, args.live) {
        (Some(start), _) => parse_bound(start, Bound::Start)?,
        // A live recording is of now: its last row written at once is the present.
        (None, true) => chrono::Utc::now().timestamp_millis() - backfill_ms,
        (None, false) => parse_bound(DEFAULT_START, Bound::Start)?,
    };
    config.hours = args.hours;
    config.seed = args.seed;
    config.book_interval_ms = args.book_interval_ms;
    config.trades_per_minute = args.trades_per_minute;
    config.snapshot_levels = args.levels;
    config.tick_size = args.tick_size;
    config.start_price = args.start_price;
    config.size_decimals = args.size_decimals;
    config.daily_volatility = args.daily_volatility;
    config.drop_rate = args.drop_rate;
    config.snapshot_every_ms = args
        .snapshot_every_minutes
        .map(|minutes| i64::from(minutes) * 60_000);

    if args.live {
        let live = LiveOptions {
            journal: match args.journal.as_str() {
                "delete" => Journal::Delete,
                _ => Journal::Wal,
            },
            backfill_ms,
        };
        let cancel = &stop.on_signals().cancel;
        let report = record_live(&config, &live, cancel, &mut |file| {
            say!("recording live into {}", file.path.display());
        })?;
        say!(
            "{} book rows and {} trades written live in {:.1} s",
            report.book_rows,
            report.trades,
            report.elapsed.as_secs_f64()
        );
        return Ok(());
    }
    let report = orderflow::synth::generate(&config, Some(&progress()))?;

    for file in &report.files {
        say!(
            "wrote {} ({} book rows, {} trades, {:.1} MB)",
            file.path.display(),
            file.book_rows,
            file.trades,
            file.bytes as f64 / 1e6
        );
    }
    let seconds = report.elapsed.as_secs_f64().max(1e-9);
    let rows = report.book_rows + report.trades;
    say!(
        "{} rows ({} book rows, {} trades), {:.1} MB of level text, {:.1} MB on disk in {:.2} s: \
         {:.0} rows/s, {:.1} MB/s",
        rows,
        report.book_rows,
        report.trades,
        report.level_text_bytes as f64 / 1e6,
        report.file_bytes as f64 / 1e6,
        seconds,
        rows as f64 / seconds,
        report.file_bytes as f64 / 1e6 / seconds
    );
    Ok(())
}

/// The progress bar of `synth` (and of the demo's recording); indicatif keeps it quiet when
/// stderr is not a terminal.
pub(crate) fn progress() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} writing book rows {bar:40} {human_pos}/{human_len} ({eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}
