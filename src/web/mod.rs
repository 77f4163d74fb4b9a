//! The web UI server: axum router, server push, embedded page. TODO web work.
use std::future::Future;

use crate::output::live::LiveFeed;

pub async fn bind(_host: &str, _port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    todo!()
}

pub async fn serve(
    _listener: tokio::net::TcpListener,
    _feed: LiveFeed,
    _shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    todo!()
}
