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
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        _ => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// `orderflow serve`: the web UI over the JSON files another process writes (the seed's app.py).
fn serve(args: ServeArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use orderflow::output::live::LiveFeed;
    use orderflow::web::{self, json_dir};

    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = web::bind(&args.server.host, args.server.port).await?;
        let feed = LiveFeed::new(Default::default());
        let dir = json_dir::JsonDir::new(&args.json_dir, feed.clone());
        feed.set_status(dir.status());
        let poller = tokio::spawn(json_dir::watch(dir, json_dir::POLL_EVERY));
        // Scripts read the bound address (with --port 0) from this line.
        println!("listening on {}", web::url(&listener)?);
        tracing::info!(
            "showing the JSON files in {}; Ctrl-C stops",
            args.json_dir.display()
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        web::serve(listener, feed, shutdown)
            .await
            .context("serving the web UI")?;
        poller.abort();
        anyhow::Ok(())
    })
}
