//! `orderflow demo`: a synthetic recording, generated once, and `run` on it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, FromArgMatches};
use orderflow::replay::Speed;
use orderflow::synth::SynthConfig;
use orderflow::time::{Bound, parse_bound};

use super::demo_follow::{DemoRun, demo_follow};
use super::options::{ProcessArgs, ServerArgs};
use super::print::say;
use super::run::{self, RunArgs};
use super::signals::Stop;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Replay speed: `max`, or a multiple of real time. At 120, a 1-minute bar every half second.
    #[arg(long, default_value = "120")]
    speed: Speed,
    /// Start paused at the beginning of the range (the page's play button or
    /// `POST /api/replay` starts it).
    #[arg(long)]
    paused: bool,
    /// Hours of synthetic market to generate and replay.
    #[arg(long, default_value_t = 3.0)]
    hours: f64,
    /// Folder for the synthetic recording (default: the user's cache folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Record live instead (`synth --live`: the last 30 minutes at once, then at real pace,
    /// into a new folder) and follow it (`run --follow`), until Ctrl-C.
    #[arg(long)]
    follow: bool,
    /// Heatmap slice length in ms (SPEC 7), at least 100.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(100..))]
    heatmap_ms: u32,
    /// Keep no heatmap (less memory).
    #[arg(long, conflicts_with = "heatmap_ms")]
    no_heatmap: bool,
    /// Tick bars of N trades in the page's card (0: none). Not with `--follow`.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        conflicts_with = "volume_bars"
    )]
    tick_bars: u64,
    /// Volume bars of V in the card instead of tick bars. Not with `--follow`.
    #[arg(long, value_name = "V", value_parser = run::positive)]
    volume_bars: Option<f64>,
}

/// The demo's instrument and day: the recording is generated for them once and then reused.
const DEMO_INSTRUMENT: &str = "BTC-USDT";
const DEMO_DAY: &str = "2025-01-15";

/// The demo's only option of `run` that is not `run`'s default: the page is fed twice as often,
/// as the replay is fast.
const DEMO_EMIT_MS: u64 = 250;

/// The marker the demo writes beside the recording it generated, once it is complete.
const DEMO_MARKER: &str = ".complete";

pub(crate) fn demo(args: DemoArgs, stop: &Stop) -> anyhow::Result<u8> {
    if !(args.hours > 0.0 && args.hours <= 24.0) {
        bail!(
            "--hours {} is out of range: give a number of hours above 0 and at most 24",
            args.hours
        );
    }
    if args.follow {
        let demo = DemoRun {
            instrument: DEMO_INSTRUMENT,
            process_args,
            heatmap_ms: args.heatmap_ms,
            no_heatmap: args.no_heatmap,
        };
        return demo_follow(args.server, args.hours, args.data_dir, demo, stop);
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
    let process = process_args(&data_dir, &[DEMO_DAY, DEMO_DAY])?;
    let mut config = SynthConfig::new(data_dir);
    config.instrument = DEMO_INSTRUMENT.to_owned();
    config.start_ms = parse_bound(DEMO_DAY, Bound::Start)?;
    config.hours = args.hours;
    config.seed = 1;
    demo_recording(&config, own_folder)?;
    let run_args = RunArgs {
        process,
        server: args.server,
        speed: args.speed,
        follow: false,
        paused: args.paused,
        checkpoint_events: orderflow::replay::CHECKPOINT_EVERY,
        prints_between_frames: orderflow::replay::PRINTS_BETWEEN_FRAMES,
        heatmap_ms: args.heatmap_ms,
        no_heatmap: args.no_heatmap,
        tick_bars: (args.volume_bars.is_none() && args.tick_bars > 0).then_some(args.tick_bars),
        volume_bars: args.volume_bars,
    };
    run::run(run_args, stop)
}

/// The options of `run` for the demo's recording in `data_dir`, parsed by clap from the command
/// line `run BTC-USDT 2025-01-15 2025-01-15 --data-dir DATA_DIR --emit-ms 250`: every other
/// option has `run`'s default, written once, in [`ProcessArgs`].
fn process_args(data_dir: &Path, range: &[&str]) -> anyhow::Result<ProcessArgs> {
    // `=` keeps a folder whose name starts with `-` a value.
    let mut data_dir_arg = OsString::from("--data-dir=");
    data_dir_arg.push(data_dir);
    let mut line: Vec<OsString> = vec!["demo".into(), DEMO_INSTRUMENT.into()];
    line.extend(range.iter().map(OsString::from));
    line.extend([data_dir_arg, format!("--emit-ms={DEMO_EMIT_MS}").into()]);
    let matches = <ProcessArgs as Args>::augment_args(clap::Command::new("demo"))
        .try_get_matches_from(line)
        .context("the demo's options of `run`")?;
    ProcessArgs::from_arg_matches(&matches).context("the demo's options of `run`")
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
        "writing a {}-hour synthetic recording (about {}) to {}; it stays there and the next \
         demo reuses it (delete the folder to free the space)",
        config.hours,
        megabytes(estimated_bytes(config)),
        dir.display()
    );
    let report = orderflow::synth::generate(config, Some(&super::synth::progress()))?;
    let text = format!(
        "{expected}\n{} book rows, {} trades\n",
        report.book_rows, report.trades
    );
    orderflow::output::json_files::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("writing {}", marker.display()))?;
    Ok(())
}

/// Bytes per book row and per trade in a synthetic recording, measured on the demo's 3 hours
/// (108,000 book rows and 214,714 trades in 122.2 MB; an hour, whose book is younger, holds
/// 12 % less per row).
const BYTES_PER_BOOK_ROW: f64 = 1010.0;
const BYTES_PER_TRADE: f64 = 60.0;

/// About how many bytes `config` writes: its book rows and its mean number of trades.
fn estimated_bytes(config: &SynthConfig) -> f64 {
    let minutes = config.hours * 60.0;
    let book_rows = minutes * 60_000.0 / f64::from(config.book_interval_ms.max(1));
    let trades = minutes * config.trades_per_minute;
    book_rows * BYTES_PER_BOOK_ROW + trades * BYTES_PER_TRADE
}

/// `bytes` in MB, to two significant figures at least.
fn megabytes(bytes: f64) -> String {
    let mb = bytes / 1e6;
    if mb >= 10.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;

    use super::{DEMO_DAY, DEMO_EMIT_MS, DEMO_INSTRUMENT, process_args};
    use crate::cli::{Cli, Command};

    /// The demo's options are those of `orderflow run` on its recording with `--emit-ms 250`:
    /// the same definitions and defaults, nothing written twice.
    #[test]
    fn demo_runs_with_the_options_of_run() {
        let dir = Path::new("-a folder/demo-3h");
        let demo = process_args(dir, &[DEMO_DAY, DEMO_DAY]).expect("the demo's options parse");
        let line = [
            "orderflow",
            "run",
            DEMO_INSTRUMENT,
            DEMO_DAY,
            DEMO_DAY,
            "--data-dir=-a folder/demo-3h",
            "--emit-ms=250",
        ];
        let Command::Run(run) = Cli::try_parse_from(line).expect("run parses").command else {
            panic!("not `run`");
        };
        assert_eq!(format!("{demo:?}"), format!("{:?}", run.process));
        assert_eq!(demo.data_dir, dir);
        assert_eq!(demo.emit_ms, DEMO_EMIT_MS);
    }
}
