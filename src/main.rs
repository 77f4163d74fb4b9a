//! The `orderflow` command line: parses the arguments, sets up logging and signals, and hands
//! the command to its file in `cli/`.

mod cli;

use std::process::ExitCode;

use cli::print::complain;
use cli::signals::Stop;
use cli::{Command, demo, export, process, recompute, run, serve, synth};

fn main() -> ExitCode {
    cli::malloc::share_malloc_arenas();
    let cli = cli::usage::parse();
    init_logging();
    let stop = Stop::default();
    let result = match cli.command {
        Command::Process(args) => process::process(args, stop.on_signals()),
        Command::Run(args) => run::run(args, stop.on_signals()),
        Command::Serve(args) => serve::serve(args, &stop.on_signals().cancel).map(|()| 0),
        // A signal ends synth at once: its unfinished file is a temporary file, which the next
        // run in that folder deletes. `synth --live` stops after its last commit.
        Command::Synth(args) => synth::synth(args, &stop).map(|()| 0),
        Command::Signals(args) => recompute::signals(args),
        Command::Export(args) => export::export(args),
        Command::Demo(args) => demo::demo(args, stop.on_signals()),
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
    use std::io::IsTerminal;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal, and never with NO_COLOR set (no-color.org).
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .init();
}
