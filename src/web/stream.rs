//! Server push (`GET /api/stream`, server-sent events): a `snapshot` event with the whole state,
//! then one `update` event per change. A client that falls behind, or a state that was replaced,
//! gets a fresh `snapshot` instead of a backlog.
//!
//! Every event is rendered once, whatever the number of clients: an update when the first
//! client sends it ([`Change::rendered`]), a snapshot once per version of the state
//! ([`Snapshots`]). Clients share the rendered bytes (`Bytes`, counted references), and the
//! connection layer writes them without copying, so a client costs its cursor, not a copy of
//! the state.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Mutex, broadcast, watch};

use super::json;
use crate::output::live::{Change, ChangeKind, LiveFeed};

/// How often an idle stream sends a comment, so proxies and browsers keep it open (and the
/// connection layer's idle timeout, 30 s, sees it alive).
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const KEEP_ALIVE_COMMENT: &[u8] = b":\n\n";
/// How soon a browser reconnects after the stream broke: 1000 ms.
const RETRY: &[u8] = b"retry: 1000\n\n";

/// What every handler can reach: the feed, and the push stream's shared snapshot and shutdown
/// signal. Here because the push stream is the one handler that needs more than the feed (the
/// others take `State<LiveFeed>` through `FromRef`).
#[derive(Clone)]
pub struct AppState {
    pub feed: LiveFeed,
    /// The push stream's snapshot, rendered once for every client.
    pub snapshots: Arc<Snapshots>,
    /// Set to `true` when the server shuts down; ends the push streams.
    pub shutdown: Arc<watch::Sender<bool>>,
}

impl axum::extract::FromRef<AppState> for LiveFeed {
    fn from_ref(state: &AppState) -> LiveFeed {
        state.feed.clone()
    }
}

pub async fn stream(State(state): State<AppState>) -> Response {
    let events = events(state.feed, state.snapshots, state.shutdown.subscribe());
    // `no-transform` keeps compressing proxies from buffering the stream.
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache, no-transform"),
        ],
        Body::from_stream(events),
    )
        .into_response()
}

/// The newest snapshot event, rendered once per version of the state.
pub struct Snapshots {
    feed: LiveFeed,
    /// `seq` of the state and its `snapshot` event.
    latest: Mutex<Option<(u64, Bytes)>>,
}

impl Snapshots {
    pub fn new(feed: LiveFeed) -> Self {
        Snapshots {
            feed,
            latest: Mutex::new(None),
        }
    }

    /// The `snapshot` event of the current state and its `seq`. Clients that ask at once wait
    /// for one rendering, which runs off the threads that serve connections.
    pub(super) async fn current(&self) -> (u64, Bytes) {
        let mut latest = self.latest.lock().await;
        if let Some((seq, event)) = &*latest {
            if *seq == self.feed.seq() {
                return (*seq, event.clone());
            }
        }
        // Dropped old version first: at most one whole snapshot is held besides those still
        // being sent.
        *latest = None;
        let feed = self.feed.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            let snap = feed.snapshot();
            (
                snap.seq,
                event("snapshot", |out| json::write_snapshot(out, &snap)),
            )
        })
        .await
        .expect("rendering plain data does not panic");
        *latest = Some(rendered.clone());
        rendered
    }
}

/// One server-sent event whose data `write` appends. JSON has no line breaks, so it is one
/// `data` line; it is written in place, and the buffer trimmed to it, so that a shared
/// snapshot costs its length once.
fn event(name: &str, write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut event = Vec::new();
    event.extend_from_slice(b"event: ");
    event.extend_from_slice(name.as_bytes());
    event.extend_from_slice(b"\ndata: ");
    write(&mut event);
    event.extend_from_slice(b"\n\n");
    event.shrink_to_fit();
    Bytes::from(event)
}

struct Cursor {
    snapshots: Arc<Snapshots>,
    changes: broadcast::Receiver<Arc<Change>>,
    /// Number of the last change the client has.
    seq: u64,
}

fn events(
    feed: LiveFeed,
    snapshots: Arc<Snapshots>,
    mut shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    // Subscribe before the snapshot, so no change falls between the two.
    let changes = feed.subscribe();
    let cursor = Cursor {
        snapshots,
        changes,
        seq: 0,
    };
    let first = stream::once(async { Bytes::from_static(RETRY) });
    let rest = stream::unfold((cursor, true), |(mut cursor, first)| async move {
        let event = if first {
            resync(&mut cursor).await
        } else {
            next_event(&mut cursor).await?
        };
        Some((event, (cursor, false)))
    });
    let ended = async move {
        // Ends the stream when the server shuts down, so graceful shutdown does not wait on it.
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    first.chain(rest).map(Ok).take_until(ended)
}

async fn next_event(cursor: &mut Cursor) -> Option<Bytes> {
    loop {
        let received = tokio::select! {
            received = cursor.changes.recv() => received,
            () = tokio::time::sleep(KEEP_ALIVE) => return Some(Bytes::from_static(KEEP_ALIVE_COMMENT)),
        };
        let change = match received {
            Ok(change) if change.seq <= cursor.seq => continue,
            Ok(change) => change,
            Err(RecvError::Lagged(_)) => return Some(resync(cursor).await),
            Err(RecvError::Closed) => return None,
        };
        match &change.kind {
            ChangeKind::Reset => return Some(resync(cursor).await),
            ChangeKind::Update(update) => {
                cursor.seq = change.seq;
                let event = change.rendered.get_or_init(|| {
                    event("update", |out| json::write_update(out, change.seq, update))
                });
                return Some(event.clone());
            }
        }
    }
}

async fn resync(cursor: &mut Cursor) -> Bytes {
    let (seq, event) = cursor.snapshots.current().await;
    cursor.seq = seq;
    event
}
