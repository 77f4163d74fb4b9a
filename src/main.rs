//! The `orderflow` command line: parses arguments, sets up logging, wires the parts together.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use orderflow::engine::ProcessorConfig;
use orderflow::output::live::{LiveFeed, Status};
use orderflow::output::target::{self, Output};
use orderflow::pipeline::{self, Job, RunReport, Speed};
use orderflow::synth::SynthConfig;
use orderflow::time::{Bound, parse_bound};

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
    /// Threads (default: all cores). 1 reads and processes on one thread; more read ahead and
    /// process the later files of a range in parallel. Same results, byte for byte.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Seconds a recording may take to answer one query (an endless view never does) before
    /// it is given up as unusable and the run goes on with the other files.
    #[arg(long, default_value_t = orderflow::source::guard::DEFAULT_STALL_LIMIT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    stall_seconds: u64,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    process: ProcessArgs,
    #[command(flatten)]
    server: ServerArgs,
    /// Replay speed: `max`, or a multiple of real time (e.g. 60).
    #[arg(long, default_value = "max")]
    speed: Speed,
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
    /// Replay speed: `max`, or a multiple of real time. At 120, a 1-minute bar every half second.
    #[arg(long, default_value = "120")]
    speed: Speed,
    /// Hours of synthetic market to generate and replay.
    #[arg(long, default_value_t = 3.0)]
    hours: f64,
    /// Folder for the synthetic recording (default: the user's cache folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Prints a line on stdout. A closed stdout (`orderflow run … | head -1`) is no reason to stop:
/// the error is ignored, where `println!` would panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints a line on stderr, ignoring a closed stderr as [`say!`] does for stdout.
macro_rules! complain {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    share_malloc_arenas();
    let cli = Cli::parse();
    init_logging();
    let stop = Stop::default();
    let result = match cli.command {
        Command::Process(args) => process(args, stop.on_signals()),
        Command::Run(args) => run(args, stop.on_signals()),
        Command::Serve(args) => serve(args, &stop.on_signals().cancel).map(|()| 0),
        // A signal ends synth at once: its unfinished file is a temporary file, which the next
        // run in that folder deletes.
        Command::Synth(args) => synth(args).map(|()| 0),
        Command::Demo(args) => demo(args, stop.on_signals()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            complain!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr; `RUST_LOG` overrides the default of `info`. A log line that cannot be
/// written (stderr closed) is dropped: by default tracing reports it with `eprintln!`, which
/// panics on a closed stderr.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .init();
}

/// How the program is asked to stop: the flag that the run and the server watch, and the
/// signal that set it (0 while none has).
#[derive(Default)]
struct Stop {
    cancel: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl Stop {
    /// The first SIGINT (Ctrl-C), SIGTERM or SIGHUP asks the run to stop and write its final
    /// state; a second one ends the program at once, with the status of that signal.
    fn on_signals(&self) -> &Stop {
        if let Err(error) = listen(self.cancel.clone(), self.signal.clone()) {
            tracing::warn!(
                "Ctrl-C and SIGTERM will stop the program without writing the final state: {error}"
            );
        }
        self
    }

    /// The exit status of a run that `interrupted` says was stopped (SPEC 4: 128 + the signal:
    /// 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), else `code`.
    fn exit_code(&self, interrupted: bool, code: u8) -> u8 {
        match self.signal.load(Ordering::SeqCst) {
            signal if interrupted && signal > 0 => 128 + signal as u8,
            _ => code,
        }
    }
}

/// Waits for SIGINT, SIGTERM and SIGHUP on a thread of its own; returns once they are caught.
#[cfg(unix)]
fn listen(cancel: Arc<AtomicBool>, caught: Arc<AtomicI32>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("starting the signal thread")?;
    let (ready, installed) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let opened = (|| {
                    Ok::<_, std::io::Error>((
                        signal(SignalKind::interrupt())?,
                        signal(SignalKind::terminate())?,
                        signal(SignalKind::hangup())?,
                    ))
                })();
                let (mut interrupt, mut terminate, mut hangup) = match opened {
                    Ok(streams) => {
                        let _ = ready.send(Ok(()));
                        streams
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                loop {
                    let signal = tokio::select! {
                        _ = interrupt.recv() => libc::SIGINT,
                        _ = terminate.recv() => libc::SIGTERM,
                        _ = hangup.recv() => libc::SIGHUP,
                    };
                    let _ = caught.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                    // SQLite stops in the middle of any step, such as a long sort or an
                    // endless view.
                    orderflow::source::guard::cancel_reading();
                    if cancel.swap(true, Ordering::SeqCst) {
                        std::process::exit(128 + signal);
                    }
                    complain!("\nstopping: writing the final state (Ctrl-C again to quit at once)");
                }
            });
        })
        .context("starting the signal thread")?;
    installed
        .recv()
        .context("the signal thread ended")?
        .context("listening for signals")
}

/// Only Ctrl-C where there are no Unix signals.
#[cfg(not(unix))]
fn listen(cancel: Arc<AtomicBool>, caught: Arc<AtomicI32>) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        let _ = caught.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst);
        orderflow::source::guard::cancel_reading();
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        complain!("\nstopping: writing the final state (Ctrl-C again to quit at once)");
    })?;
    Ok(())
}

/// Turns the shared options into a job, checking what clap cannot.
fn job(args: &ProcessArgs, json_dir: Option<PathBuf>, speed: Speed) -> anyhow::Result<Job> {
    orderflow::source::guard::set_stall_limit(Duration::from_secs(args.stall_seconds));
    let start = parse_bound(&args.start, Bound::Start).context("START")?;
    let end = parse_bound(&args.end, Bound::End).context("END")?;
    if end < start {
        bail!(
            "END ({}) is before START ({}): give the range in time order",
            args.end,
            args.start
        );
    }
    if args.instrument.trim().is_empty() {
        bail!("INSTRUMENT is empty: give one such as BTC-USDT");
    }
    Ok(Job {
        instrument: args.instrument.clone(),
        data_dir: args.data_dir.clone(),
        config: ProcessorConfig {
            window_ms: i64::from(args.window_seconds) * 1000,
            depth_levels: args.depth_levels as usize,
            obi_levels: args.obi_levels.map(|levels| levels as usize),
            start,
            end,
        },
        emit_every: Duration::from_millis(args.emit_ms),
        speed,
        json_dir,
        progress: true,
        jobs: match args.jobs {
            Some(jobs) => jobs as usize,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        },
    })
}

fn process(args: ProcessArgs, stop: &Stop) -> anyhow::Result<u8> {
    let json_dir = args.json_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let job = job(&args, Some(json_dir), Speed::Max)?;
    check_summary_file(args.summary.as_deref(), job.json_dir.as_deref())?;
    let report = pipeline::run(&job, None, &stop.cancel)?;
    finish(&report, args.summary.as_deref(), stop)
}

/// Refuses, before any work, a `--summary` that names a file orderflow may not replace
/// (SPEC 4; see `output::target`) or one of the run's own JSON files, and cleans up the
/// temporary files that killed runs left in its folder.
fn check_summary_file(summary_file: Option<&Path>, json_dir: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = summary_file {
        if let Some(dir) = json_dir {
            if is_json_file_of(path, dir) {
                bail!(
                    "--summary {} is one of the JSON files that --json-dir {} holds: give the \
                     summary a name of its own, such as summary.json",
                    path.display(),
                    dir.display()
                );
            }
        }
        let path = target::check(path, Output::Summary)?;
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
        orderflow::output::temp::remove_stale(dir.unwrap_or(Path::new(".")));
    }
    Ok(())
}

/// Whether `path` is one of the three JSON files in `dir`: compared through links where they
/// exist, and by their components where they do not yet.
fn is_json_file_of(path: &Path, dir: &Path) -> bool {
    use orderflow::output::json_files::{DEPTH_FILE, METRICS_FILE, OHLC_FILE};

    let summary = real_path(path);
    [OHLC_FILE, METRICS_FILE, DEPTH_FILE]
        .iter()
        .any(|name| real_path(&dir.join(name)) == summary)
}

/// `path` with its links resolved as far as it exists, the rest folded lexically.
fn real_path(path: &Path) -> PathBuf {
    use std::path::Component;

    let absolute = std::env::current_dir().map_or_else(|_| path.to_owned(), |cwd| cwd.join(path));
    let mut real = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                real.pop();
            }
            other => {
                real.push(other);
                if let Ok(resolved) = std::fs::canonicalize(&real) {
                    real = resolved;
                }
            }
        }
    }
    real
}

/// Prints the summary, writes it as JSON when asked, and gives the exit status.
fn finish(report: &RunReport, summary_file: Option<&Path>, stop: &Stop) -> anyhow::Result<u8> {
    say!("{}", report.summary);
    if let Some(path) = summary_file {
        let json =
            serde_json::to_vec_pretty(&report.summary).context("encoding the run summary")?;
        // Checked again: the file may have been replaced during the run.
        let path = target::check(path, Output::Summary)?;
        orderflow::output::json_files::write_atomic(&path, &json)?;
    }
    let interrupted = report.summary.interrupted;
    if let Some(problem) = report.problem.as_ref().filter(|_| !interrupted) {
        complain!("error: {problem}");
    }
    Ok(stop.exit_code(interrupted, report.verdict.exit_code()))
}

fn run(args: RunArgs, stop: &Stop) -> anyhow::Result<u8> {
    let job = job(&args.process, args.process.json_dir.clone(), args.speed)?;
    check_summary_file(args.process.summary.as_deref(), job.json_dir.as_deref())?;
    run_job(job, &args.server, args.process.summary.as_deref(), stop)
}

/// Processes `job` while serving the live page; keeps serving after the end until Ctrl-C.
///
/// The exit status is the processing's: a signal that only stops the server after the end
/// leaves it as it was (the summary says the run was not interrupted).
fn run_job(
    job: Job,
    server: &ServerArgs,
    summary_file: Option<&Path>,
    stop: &Stop,
) -> anyhow::Result<u8> {
    let cancel = &stop.cancel;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let feed = LiveFeed::new(Status {
        instrument: job.instrument.clone(),
        ..Status::default()
    });
    let server_task = match runtime.block_on(orderflow::web::bind(&server.host, server.port)) {
        Ok(listener) => {
            announce(&listener)?;
            let shutdown = until_cancelled(cancel.clone());
            Some(runtime.spawn(orderflow::web::serve(listener, feed.clone(), shutdown)))
        }
        Err(error) => {
            complain!("error: {error:#}; processing goes on without the web page");
            None
        }
    };
    let report = pipeline::run(&job, Some(&feed), cancel)?;
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

fn serve(args: ServeArgs, cancel: &Arc<AtomicBool>) -> anyhow::Result<()> {
    use orderflow::web::json_dir;

    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = orderflow::web::bind(&args.server.host, args.server.port).await?;
        let feed = LiveFeed::new(Status::default());
        let dir = json_dir::JsonDir::new(&args.json_dir, feed.clone());
        feed.set_status(dir.status());
        let poller = tokio::spawn(json_dir::watch(dir, json_dir::POLL_EVERY));
        announce(&listener)?;
        tracing::info!("showing the JSON files in {}", args.json_dir.display());
        orderflow::web::serve(listener, feed, until_cancelled(cancel.clone()))
            .await
            .context("serving the web UI")?;
        poller.abort();
        anyhow::Ok(())
    })
}

/// Prints the page's address; scripts read it (with `--port 0`) from this line.
fn announce(listener: &tokio::net::TcpListener) -> anyhow::Result<()> {
    say!(
        "listening on {}  (Ctrl-C to stop)",
        orderflow::web::url(listener)?
    );
    Ok(())
}

/// Resolves once Ctrl-C has been pressed (see [`cancel_on_ctrl_c`]).
async fn until_cancelled(cancel: Arc<AtomicBool>) {
    while !cancel.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
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

    let report = orderflow::synth::generate(&config, Some(&synth_progress()))?;

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

/// The progress bar of `synth`; indicatif keeps it quiet when stderr is not a terminal.
fn synth_progress() -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} writing book rows {bar:40} {human_pos}/{human_len} ({eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}

/// The demo's instrument and day: the recording is generated for them once and then reused.
const DEMO_INSTRUMENT: &str = "BTC-USDT";
const DEMO_DAY: &str = "2025-01-15";

/// The marker the demo writes beside the recording it generated, once it is complete.
const DEMO_MARKER: &str = ".complete";

fn demo(args: DemoArgs, stop: &Stop) -> anyhow::Result<u8> {
    if !(args.hours > 0.0 && args.hours <= 24.0) {
        bail!(
            "--hours {} is out of range: give a number of hours above 0 and at most 24",
            args.hours
        );
    }
    let (data_dir, own_folder) = match args.data_dir {
        Some(dir) => (dir, false),
        None => (
            dirs::cache_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("orderflow")
                .join(format!("demo-{}h", args.hours)),
            true,
        ),
    };
    let mut config = SynthConfig::new(&data_dir);
    config.instrument = DEMO_INSTRUMENT.to_owned();
    config.start_ms = parse_bound(DEMO_DAY, Bound::Start)?;
    config.hours = args.hours;
    config.seed = 1;
    demo_recording(&config, own_folder)?;
    let process = ProcessArgs {
        instrument: DEMO_INSTRUMENT.to_owned(),
        start: DEMO_DAY.to_owned(),
        end: DEMO_DAY.to_owned(),
        data_dir,
        window_seconds: 60,
        depth_levels: 50,
        obi_levels: None,
        json_dir: None,
        emit_ms: 250,
        summary: None,
        jobs: None,
        stall_seconds: orderflow::source::guard::DEFAULT_STALL_LIMIT.as_secs(),
    };
    let job = job(&process, None, args.speed)?;
    run_job(job, &args.server, None, stop)
}

/// Makes sure the demo's recording is in `config.out_dir`: the one the demo generated there
/// before with the same parameters, or a new one. Never replaces a file (SPEC 4).
///
/// The demo knows its own recording by the marker it writes beside it once it is complete,
/// which names the parameters. In the demo's own cache folder (`own_folder`), whose name holds
/// the hours, a marker of an older version (without the parameters) is trusted too.
fn demo_recording(config: &SynthConfig, own_folder: bool) -> anyhow::Result<()> {
    let dir = &config.out_dir;
    let marker = dir.join(DEMO_MARKER);
    let expected = format!(
        "orderflow demo: {} from {} for {} h, seed {}",
        config.instrument, DEMO_DAY, config.hours, config.seed
    );
    let files = orderflow::synth::day_files(config)?;
    let all_there = files.iter().all(|file| file.is_file());
    match std::fs::read_to_string(&marker) {
        Ok(text) if all_there && text.lines().next() == Some(&expected) => {
            say!("using the demo recording in {}", dir.display());
            return Ok(());
        }
        Ok(text) if all_there && own_folder && is_legacy_marker(&text) => {
            say!("using the demo recording in {}", dir.display());
            return Ok(());
        }
        // A marker of another demo, or of files since removed: generating refuses any file
        // that is still there.
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("reading {}", marker.display()));
        }
    }
    let path = target_for_marker(&marker)?;
    say!(
        "writing a {}-hour synthetic recording to {} (once)",
        config.hours,
        dir.display()
    );
    let report = orderflow::synth::generate(config, Some(&synth_progress()))?;
    let text = format!(
        "{expected}\n{} book rows, {} trades\n",
        report.book_rows, report.trades
    );
    orderflow::output::json_files::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("writing {}", marker.display()))?;
    Ok(())
}

/// The marker of versions before the parameters were written in it: `N book rows, M trades`.
fn is_legacy_marker(text: &str) -> bool {
    let line = text.trim_end();
    text.lines().count() == 1 && line.contains(" book rows, ") && line.ends_with(" trades")
}

/// The demo's marker may replace only a marker of the demo's (or nothing).
fn target_for_marker(marker: &Path) -> anyhow::Result<PathBuf> {
    match std::fs::symlink_metadata(marker) {
        Err(_) => Ok(marker.to_owned()),
        Ok(meta) if meta.is_file() => {
            let text = std::fs::read_to_string(marker).unwrap_or_default();
            if text.starts_with("orderflow demo:") || is_legacy_marker(&text) {
                Ok(marker.to_owned())
            } else {
                bail!(
                    "{} exists and is not the demo's: it was left as it was; move it away \
                     yourself, or give --data-dir a new or empty folder",
                    marker.display()
                )
            }
        }
        Ok(_) => bail!(
            "{} exists and is not a file: it was left as it was; give --data-dir a new or \
             empty folder",
            marker.display()
        ),
    }
}

/// Gives glibc's malloc two arenas: the main thread's, and one that the reading threads share.
///
/// With an arena per thread (glibc's default, up to 8 per core), the level vectors that the two
/// book threads allocate and the engine's thread frees left both book threads' arenas
/// fragmented, and a day's peak memory was 12 % over an hour's (issue 5 allows 10 %): 7.5 %
/// with two arenas. One arena measured 5 %, but the hour ran about 10 % slower, every thread
/// waiting on its lock. Set before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn share_malloc_arenas() {
    // SAFETY: `mallopt` only sets a tunable of the allocator; no thread is allocating yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn share_malloc_arenas() {}
