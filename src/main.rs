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
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = cli.command;
    ExitCode::SUCCESS
}
