//! `orderflow serve`: the web page over JSON files that another process writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Args;
use orderflow::output::live::{LiveFeed, Status};

use super::options::ServerArgs;
use super::print::say;
use super::signals::until_cancelled;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Folder holding the JSON files to show.
    #[arg(long, default_value = ".")]
    json_dir: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
    /// Show a store instead of JSON files (with --instrument), without any recording.
    #[arg(long, value_name = "FILE", requires = "instrument")]
    store: Option<PathBuf>,
    /// The instrument of the store to show.
    #[arg(long, requires = "store")]
    instrument: Option<String>,
    /// The bar window of the store to show, in seconds (default: the smallest stored).
    #[arg(long, requires = "store")]
    window_seconds: Option<u32>,
}

pub(crate) fn serve(args: ServeArgs, cancel: &Arc<AtomicBool>) -> anyhow::Result<()> {
    use orderflow::web::json_dir;

    if let (Some(store), Some(instrument)) = (&args.store, &args.instrument) {
        return super::serve_store::serve(
            store,
            instrument,
            args.window_seconds,
            &args.server,
            cancel,
        );
    }
    check_json_dir(&args.json_dir)?;
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

/// A `--json-dir` that is missing or not a folder is a usage error, found before listening:
/// the page would wait for files that never come.
fn check_json_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => bail!(
            "--json-dir {} is not a folder: give the folder where `orderflow process` or \
             `orderflow run --json-dir` writes ohlc_data.json",
            dir.display()
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "--json-dir {} does not exist: give the folder where `orderflow process` or \
             `orderflow run --json-dir` writes ohlc_data.json",
            dir.display()
        ),
        Err(error) => bail!("--json-dir {} cannot be read: {error}", dir.display()),
    }
}

/// Prints the page's address; scripts read it (with `--port 0`) from this line.
pub(crate) fn announce(listener: &tokio::net::TcpListener) -> anyhow::Result<()> {
    say!(
        "listening on {}  (Ctrl-C to stop)",
        orderflow::web::url(listener)?
    );
    Ok(())
}
