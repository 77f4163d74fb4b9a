//! The web UI server: axum router, JSON API, server push and the embedded page.
//!
//! [`router`] is the whole application over a [`LiveFeed`], testable without a socket;
//! [`serve`] runs it on a listener until a shutdown future completes, within the [`Limits`]
//! of `server.rs`; [`bind`] opens the listener with an error message that says what to do.
//! [`json_dir`] feeds a [`LiveFeed`] from the seed's JSON files (`orderflow serve`).

mod api;
pub mod assets;
mod flow_api;
mod heatmap;
pub mod host;
pub mod json;
pub mod json_dir;
mod replay;
mod server;
mod signals_api;
pub mod store_feed;
mod stream;

pub use server::Limits;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::output::live::LiveFeed;
use crate::replay::control::Control;
use stream::AppState;

/// The whole web application over `feed`, as served on `local`: the page, its assets and the
/// API (see the README), for requests that name `local` in their `Host` (see `host.rs`).
pub fn router(feed: LiveFeed, local: SocketAddr) -> Router {
    app(state(feed), None, local)
}

/// [`router`] with the replay's control at `POST /api/replay` (`run`, `demo`).
pub fn router_with_control(feed: LiveFeed, control: Control, local: SocketAddr) -> Router {
    app(state(feed), Some(control), local)
}

fn state(feed: LiveFeed) -> AppState {
    AppState {
        snapshots: Arc::new(stream::Snapshots::new(feed.clone())),
        feed,
        shutdown: Arc::new(watch::channel(false).0),
    }
}

fn app(state: AppState, control: Option<Control>, local: SocketAddr) -> Router {
    let mut router = Router::new();
    if let Some(control) = control {
        let route = replay::ReplayRoute {
            control,
            feed: state.feed.clone(),
            local,
        };
        router = router.route("/api/replay", replay::route(route));
    }
    router
        .route("/", get(assets::page))
        .route("/assets/{*path}", get(assets::asset))
        .route("/api/bars", get(api::bars))
        .route("/api/metrics", get(api::metrics))
        .route("/api/depth", get(api::depth))
        .route("/api/status", get(api::status))
        .route("/api/stream", get(stream::stream))
        .route("/api/footprint", get(flow_api::footprint))
        .route("/api/bar_extras", get(flow_api::bar_extras))
        .route("/api/prints", get(flow_api::prints))
        .route("/api/print_size", get(flow_api::print_size))
        .route("/api/trade_bars", get(flow_api::trade_bars))
        .route("/api/signals", get(signals_api::signals))
        .route("/api/heatmap", get(heatmap::heatmap))
        .route("/api/heatmap/overlay", get(heatmap::overlay))
        .fallback(api::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(local, host::check))
}

/// Serves the web application over `feed` on `listener` within the default [`Limits`] until
/// `shutdown` completes; then push streams are ended, and the call returns once the
/// connections are closed, a second later at most. Warns when the listener is reachable from
/// beyond this machine.
///
/// # Errors
/// When the listener's address cannot be read (accepting retries passing errors itself).
pub async fn serve(
    listener: TcpListener,
    feed: LiveFeed,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_within(listener, feed, Limits::default(), shutdown).await
}

/// [`serve`] with the replay's control at `POST /api/replay` (`run`, `demo`).
///
/// # Errors
/// As [`serve`].
pub async fn serve_with_control(
    listener: TcpListener,
    feed: LiveFeed,
    control: Control,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_app(listener, feed, Some(control), Limits::default(), shutdown).await
}

/// [`serve`] within other `limits` (tests use short ones).
///
/// # Errors
/// As [`serve`].
pub async fn serve_within(
    listener: TcpListener,
    feed: LiveFeed,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_app(listener, feed, None, limits, shutdown).await
}

async fn serve_app(
    listener: TcpListener,
    feed: LiveFeed,
    control: Option<Control>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    if let Some(warning) = host::exposure_warning(local) {
        tracing::warn!("{warning}");
    }
    let state = state(feed);
    let stop = state.shutdown.clone();
    let app = app(state, control, local);
    server::run(listener, app, &limits, async move {
        shutdown.await;
        stop.send_replace(true);
    })
    .await
}

/// Why the server could not listen.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "port {port} on {host} is in use: pass --port with a free port (or --port 0 to let the system choose one)"
    )]
    InUse { host: String, port: u16 },
    #[error(
        "not allowed to listen on port {port} on {host} (ports below 1024 need privileges): pass --port with a port from 1024 up"
    )]
    Denied { host: String, port: u16 },
    #[error(
        "cannot listen on {host} port {port}: {source}; pass --host with an address of this machine (e.g. 127.0.0.1)"
    )]
    Other {
        host: String,
        port: u16,
        #[source]
        source: io::Error,
    },
}

/// Opens the listener for `host:port` (`port` 0: any free port).
///
/// # Errors
/// [`BindError`] with a message for the user: the port is taken, not allowed, or the host is
/// not an address of this machine.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, BindError> {
    TcpListener::bind((host, port)).await.map_err(|source| {
        let host = host.to_string();
        match source.kind() {
            io::ErrorKind::AddrInUse => BindError::InUse { host, port },
            io::ErrorKind::PermissionDenied => BindError::Denied { host, port },
            _ => BindError::Other { host, port, source },
        }
    })
}

/// `http://ADDR:PORT` of a bound listener, as printed in `listening on ...`.
///
/// # Errors
/// When the socket's address cannot be read.
pub fn url(listener: &TcpListener) -> io::Result<String> {
    Ok(format!("http://{}", listener.local_addr()?))
}

#[cfg(test)]
mod tests;
