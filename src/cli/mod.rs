//! The commands of `orderflow`: the `Command` table, and one file per command; the option
//! groups that several commands share are in `options.rs`.

pub(crate) mod demo;
pub(crate) mod demo_follow;
pub(crate) mod export;
pub(crate) mod malloc;
pub(crate) mod options;
pub(crate) mod print;
pub(crate) mod process;
pub(crate) mod recompute;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod serve_store;
pub(crate) mod signals;
pub(crate) mod store_args;
pub(crate) mod synth;
pub(crate) mod usage;

use clap::{Parser, Subcommand};

use options::ProcessArgs;

/// Replay and study recorded order flow: order book, OHLC bars, OBI and CVD, live in the browser.
#[derive(Debug, Parser)]
#[command(name = "orderflow", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Process recordings and serve the live web UI while they are processed.
    Run(run::RunArgs),
    /// Process recordings only; write the JSON files.
    Process(ProcessArgs),
    /// Serve the web UI over JSON files that another process writes.
    Serve(serve::ServeArgs),
    /// Write synthetic recordings.
    Synth(synth::SynthArgs),
    /// Compute the signals of a store again, on its stored bars (after a change of rules).
    Signals(recompute::SignalsArgs),
    /// Write a store's tables as Parquet or CSV, partitioned by instrument and day.
    Export(export::ExportArgs),
    /// Generate a synthetic recording (once) and `run` on it: the zero-set-up main job.
    Demo(demo::DemoArgs),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap's own checks of the definitions (names, defaults, conflicts), which it otherwise
    /// runs only when a command line happens to reach them.
    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
