//! `orderflow serve --store FILE --instrument I`: the page over a store, without recordings.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use orderflow::output::live::{LiveFeed, Status};
use orderflow::store::{Series, Store};
use orderflow::web::store_feed::{POLL_EVERY, StoreFeed, watch};

use super::options::ServerArgs;
use super::print::say;
use super::signals::until_cancelled;

pub(crate) fn serve(
    store: &Path,
    instrument: &str,
    window_seconds: Option<u32>,
    server: &ServerArgs,
    cancel: &Arc<AtomicBool>,
) -> anyhow::Result<()> {
    if !store.is_file() {
        bail!(
            "the store {} does not exist: make one with `orderflow process ... --store FILE`",
            store.display()
        );
    }
    let path = orderflow::store::file::check(store)?;
    let reader = Store::open_read(&path)?;
    let windows = reader.windows(instrument)?;
    let window_s = match window_seconds {
        Some(window) if windows.contains(&i64::from(window)) => i64::from(window),
        None if !windows.is_empty() => windows[0],
        _ => {
            let stored: Vec<String> = reader
                .series()?
                .iter()
                .map(|series| format!("{} {} s", series.instrument, series.window_s))
                .collect();
            bail!(
                "the store {} holds no bars of {instrument}{}; it holds: {}",
                store.display(),
                window_seconds.map_or(String::new(), |w| format!(" at {w} s")),
                if stored.is_empty() {
                    "nothing".to_owned()
                } else {
                    stored.join(", ")
                }
            );
        }
    };
    drop(reader);
    let series = Series {
        instrument: instrument.to_owned(),
        window_s,
    };
    let feed = LiveFeed::new(Status {
        instrument: instrument.to_owned(),
        ..Status::default()
    });
    let mut source = StoreFeed::new(path, series, feed.clone());
    source.refresh()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = orderflow::web::bind(&server.host, server.port).await?;
        let poller = tokio::spawn(watch(source, POLL_EVERY));
        say!(
            "listening on {}  (Ctrl-C to stop)",
            orderflow::web::url(&listener)?
        );
        tracing::info!(
            "showing {instrument} at {window_s} s from the store {}",
            store.display()
        );
        orderflow::web::serve(listener, feed, until_cancelled(cancel.clone()))
            .await
            .context("serving the web UI")?;
        poller.abort();
        anyhow::Ok(())
    })
}
