//! The `orderflow` command line: parses arguments, sets up logging, wires the parts together.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Replay and study recorded order flow: order book, OHLC bars, OBI and CVD, live in the browser.
#[derive(Debug, Parser)]
#[command(name = "orderflow", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Process recordings and serve the live web UI while they are processed.
    Run(RunArgs),
    /// Process recordings only; write the JSON files.
    Process(ProcessArgs),
    /// Serve the web UI over JSON files that another process writes.
    Serve(ServeArgs),
    /// Write synthetic recordings.
    Synth(SynthArgs),
    /// Generate a synthetic recording (once) and `run` on it: the zero-set-up main job.
    Demo(DemoArgs),
}

/// Options shared by `run` and `process`.
#[derive(Debug, Args)]
struct ProcessArgs {
    /// Instrument, e.g. BTC-USDT (matched case-insensitively in file names and rows).
    instrument: String,
    /// First day (UTC date YYYY-MM-DD, or an RFC 3339 time).
    start: String,
    /// Last day, included whole (UTC date YYYY-MM-DD, or an RFC 3339 time: then exclusive).
    end: String,
    /// Folder searched recursively for recordings.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "../data/OKX")]
    data_dir: PathBuf,
    /// Bar window in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=31_622_400))]
    window_seconds: u32,
    /// Levels per side in the depth snapshot.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    depth_levels: u32,
    /// Levels per side summed for OBI (default: the whole book).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    obi_levels: Option<u32>,
    /// Folder for ohlc_data.json, metrics_data.json and depth_data.json.
    #[arg(long)]
    json_dir: Option<PathBuf>,
    /// Least time between two writes of the JSON files (and pushes to the web UI), in ms.
    #[arg(long, default_value_t = 500)]
    emit_ms: u64,
    /// Also write the run summary as JSON to this file.
    #[arg(long)]
    summary: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    process: ProcessArgs,
    #[command(flatten)]
    server: ServerArgs,
    /// Replay speed: `max`, or a multiple of real time (e.g. 60).
    #[arg(long, default_value = "max")]
    speed: String,
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// Address the web server listens on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port the web server listens on.
    #[arg(long, default_value_t = 8050)]
    port: u16,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Folder holding the JSON files to show.
    #[arg(long, default_value = ".")]
    json_dir: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Folder to write the recordings into (one file per UTC day).
    #[arg(long)]
    out: PathBuf,
    /// Instrument name, used in the rows and the file names.
    #[arg(long, default_value = "BTC-USDT")]
    instrument: String,
    /// Start (UTC date YYYY-MM-DD, or an RFC 3339 time).
    #[arg(long, default_value = "2025-01-15")]
    start: String,
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
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Synth(args) => match synth(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        },
        _ => ExitCode::SUCCESS,
    }
}

/// `orderflow synth`: writes a synthetic recording, with a progress bar on a terminal.
fn synth(args: SynthArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    use orderflow::synth::{SynthConfig, generate};
    use orderflow::time::{Bound, parse_bound};

    let mut config = SynthConfig::new(args.out);
    config.instrument = args.instrument;
    config.start_ms = parse_bound(&args.start, Bound::Start)?;
    config.hours = args.hours;
    config.seed = args.seed;
    config.book_interval_ms = args.book_interval_ms;
    config.trades_per_minute = args.trades_per_minute;
    config.snapshot_levels = args.levels;
    config.tick_size = args.tick_size;
    config.start_price = args.start_price;
    config.size_decimals = args.size_decimals;
    config.daily_volatility = args.daily_volatility;

    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} writing book rows {bar:40} {human_pos}/{human_len} ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    });
    let report = generate(&config, bar.as_ref())?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    for file in &report.files {
        println!(
            "wrote {} ({} book rows, {} trades, {:.1} MB)",
            file.path.display(),
            file.book_rows,
            file.trades,
            file.bytes as f64 / 1e6
        );
    }
    let seconds = report.elapsed.as_secs_f64().max(1e-9);
    let rows = report.book_rows + report.trades;
    println!(
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
