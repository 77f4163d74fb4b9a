//! Server push (`GET /api/stream`, server-sent events): a `snapshot` event with the whole state,
//! then one `update` event per change. A client that falls behind, or a state that was replaced,
//! gets a fresh `snapshot` instead of a backlog.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use super::{AppState, json};
use crate::output::live::{Change, ChangeKind, LiveFeed};
use std::sync::Arc;

/// How often an idle stream sends a comment, so proxies and browsers keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How soon a browser reconnects after the stream broke.
const RETRY: Duration = Duration::from_millis(1000);

pub async fn stream(State(state): State<AppState>) -> impl IntoResponse {
    let events = events(state.feed, state.shutdown.subscribe());
    // `no-transform` keeps compressing proxies from buffering the stream.
    (
        [(header::CACHE_CONTROL, "no-cache, no-transform")],
        Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    )
}

struct Cursor {
    feed: LiveFeed,
    changes: broadcast::Receiver<Arc<Change>>,
    /// Number of the last change the client has.
    seq: u64,
}

fn events(
    feed: LiveFeed,
    mut shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    // Subscribe before the snapshot, so no change falls between the two.
    let changes = feed.subscribe();
    let snap = feed.snapshot();
    let first = Event::default()
        .event("snapshot")
        .retry(RETRY)
        .data(json::snapshot(&snap));
    let cursor = Cursor {
        feed,
        changes,
        seq: snap.seq,
    };
    let rest = stream::unfold(cursor, |mut cursor| async move {
        let event = next_event(&mut cursor).await?;
        Some((event, cursor))
    });
    let ended = async move {
        // Ends the stream when the server shuts down, so graceful shutdown does not wait on it.
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    stream::once(async { first })
        .chain(rest)
        .map(Ok)
        .take_until(ended)
}

async fn next_event(cursor: &mut Cursor) -> Option<Event> {
    loop {
        let change = match cursor.changes.recv().await {
            Ok(change) if change.seq <= cursor.seq => continue,
            Ok(change) => change,
            Err(RecvError::Lagged(_)) => return Some(resync(cursor)),
            Err(RecvError::Closed) => return None,
        };
        match &change.kind {
            ChangeKind::Reset => return Some(resync(cursor)),
            ChangeKind::Update(update) => {
                cursor.seq = change.seq;
                let data = change
                    .rendered
                    .get_or_init(|| json::update(change.seq, update));
                return Some(Event::default().event("update").data(data.as_str()));
            }
        }
    }
}

fn resync(cursor: &mut Cursor) -> Event {
    let snap = cursor.feed.snapshot();
    cursor.seq = snap.seq;
    Event::default()
        .event("snapshot")
        .data(json::snapshot(&snap))
}
