//! The web UI server: axum router, JSON API, server push and the embedded page.
//!
//! [`router`] is the whole application over a [`LiveFeed`], testable without a socket;
//! [`serve`] runs it on a listener until a shutdown future completes; [`bind`] opens the
//! listener with an error message that says what to do. [`json_dir`] feeds a [`LiveFeed`]
//! from the seed's JSON files (`orderflow serve`).

mod api;
pub mod assets;
pub mod json;
pub mod json_dir;
mod stream;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::output::live::LiveFeed;

/// What every handler can reach.
#[derive(Clone)]
struct AppState {
    feed: LiveFeed,
    /// Set to `true` when the server shuts down; ends the push streams.
    shutdown: Arc<watch::Sender<bool>>,
}

impl axum::extract::FromRef<AppState> for LiveFeed {
    fn from_ref(state: &AppState) -> LiveFeed {
        state.feed.clone()
    }
}

/// The whole web application over `feed`: the page, its assets and the API (see `docs/api.md`).
pub fn router(feed: LiveFeed) -> Router {
    app(AppState {
        feed,
        shutdown: Arc::new(watch::channel(false).0),
    })
}

fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(assets::page))
        .route("/assets/{*path}", get(assets::asset))
        .route("/api/bars", get(api::bars))
        .route("/api/metrics", get(api::metrics))
        .route("/api/depth", get(api::depth))
        .route("/api/status", get(api::status))
        .route("/api/stream", get(stream::stream))
        .fallback(api::not_found)
        .with_state(state)
}

/// Serves the web application over `feed` on `listener` until `shutdown` completes; then open
/// push streams are ended and the call returns once the connections are closed.
///
/// # Errors
/// When accepting connections fails for good (axum retries passing errors itself).
pub async fn serve(
    listener: TcpListener,
    feed: LiveFeed,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let stop = Arc::new(watch::channel(false).0);
    let app = app(AppState {
        feed,
        shutdown: stop.clone(),
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
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
