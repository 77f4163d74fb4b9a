//! Router tests without a socket (tower `oneshot`), and a server test on port 0 that reads the
//! push stream.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::engine::Uncertain;
use crate::engine::{Bar, Depth, Level, MetricBar, Ohlc};
use crate::output::live::{Phase, Status, Update};
use crate::output::status::{IntegrityExample, IntegrityStatus};

fn bar(ts: i64, close: f64) -> Bar {
    Bar {
        ts,
        open: 100.0,
        high: 101.5,
        low: 99.0,
        close,
        volume: 2.5,
    }
}

fn metric(ts: i64) -> MetricBar {
    MetricBar {
        ts,
        obi: Ohlc {
            open: 0.1,
            high: 0.5,
            low: -0.2,
            close: 0.25,
        },
        cvd: Ohlc {
            open: 0.0,
            high: 3.0,
            low: -1.0,
            close: 2.0,
        },
    }
}

fn status() -> Status {
    Status {
        instrument: "BTC-USDT".into(),
        start: 0,
        end: 86_400_000,
        progress: 0.5,
        replay_ts: Some(120_000),
        rows_per_sec: 1000.0,
        rows_read: 42,
        phase: Phase::Processing,
        message: "replaying 1 file".into(),
        integrity: IntegrityStatus {
            gaps: 1,
            crossed: 2,
            examples: vec![IntegrityExample {
                file: "f.db".into(),
                row_id: 7,
                kind: "gap",
            }],
            uncertain: vec![
                Uncertain {
                    from: 60_000,
                    to: Some(90_000),
                },
                Uncertain {
                    from: 100_000,
                    to: None,
                },
            ],
            ..IntegrityStatus::default()
        },
        playback: None,
    }
}

fn feed_with_data() -> LiveFeed {
    let feed = LiveFeed::new(Status::default());
    feed.publish(Update {
        bars: vec![bar(0, 100.5), bar(60_000, 101.0), bar(120_000, 99.5)],
        metric_bars: vec![metric(0), metric(60_000)],
        depth: Depth {
            bids: vec![
                Level {
                    price: 99.5,
                    size: 1.0,
                },
                Level {
                    price: 99.0,
                    size: 2.0,
                },
            ],
            asks: vec![Level {
                price: 100.5,
                size: 3.0,
            }],
        },
        status: status(),
        ..Update::default()
    });
    feed
}

/// The address the router is tested as listening on.
const LOCAL: &str = "127.0.0.1:8050";

fn local() -> std::net::SocketAddr {
    LOCAL.parse().unwrap()
}

/// Sends one GET to the router; returns status, headers and body.
async fn get(feed: &LiveFeed, uri: &str) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    get_from(feed, uri, Some(LOCAL)).await
}

/// Sends one GET with this `Host` (none with `None`).
async fn get_from(
    feed: &LiveFeed,
    uri: &str,
    host: Option<&str>,
) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri);
    if let Some(host) = host {
        request = request.header(header::HOST, host);
    }
    let request = request.body(Body::empty()).unwrap();
    let response = router(feed.clone(), local())
        .oneshot(request)
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn get_json(feed: &LiveFeed, uri: &str) -> (StatusCode, Value) {
    let (status, headers, body) = get(feed, uri).await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_types_and_cache_headers() {
    let feed = feed_with_data();
    let (status, headers, body) = get(&feed, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("/assets/lightweight-charts.js") && page.contains("/assets/js/main.js"));

    for (path, content_type) in [
        (
            "/assets/lightweight-charts.js",
            "text/javascript; charset=utf-8",
        ),
        ("/assets/js/main.js", "text/javascript; charset=utf-8"),
        (
            "/assets/js/charts/depth.js",
            "text/javascript; charset=utf-8",
        ),
        ("/assets/style.css", "text/css; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) = get(&feed, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "{path}");
        assert!(
            headers.contains_key(header::ETAG) && headers.contains_key(header::CACHE_CONTROL),
            "{path}"
        );
        assert!(!body.is_empty(), "{path}");
    }
    let (_, _, library) = get(&feed, "/assets/lightweight-charts.js").await;
    assert!(String::from_utf8_lossy(&library[..300]).contains("Lightweight Charts"));
}

#[tokio::test]
async fn every_module_the_page_imports_is_embedded() {
    for asset in assets::ASSETS
        .iter()
        .filter(|a| a.path.ends_with(".js") && a.path.starts_with("js/"))
    {
        let text = std::str::from_utf8(asset.body).unwrap();
        for line in text.lines().filter(|l| l.starts_with("import ")) {
            let target = line
                .split(['\'', '"'])
                .nth(1)
                .expect("import with a quoted path");
            let base = std::path::Path::new(asset.path).parent().unwrap();
            let resolved = normalize(&base.join(target));
            assert!(
                assets::ASSETS.iter().any(|a| a.path == resolved),
                "{} imports {target}: not embedded",
                asset.path
            );
        }
    }
}

fn normalize(path: &std::path::Path) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.to_str().unwrap().split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn an_unchanged_asset_is_not_sent_again() {
    let feed = feed_with_data();
    let (_, headers, _) = get(&feed, "/assets/style.css").await;
    let etag = headers[header::ETAG].clone();
    let request = Request::get("/assets/style.css")
        .header(header::HOST, LOCAL)
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .unwrap();
    let response = router(feed, local()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn bars_and_metrics_in_the_seed_schema_with_since() {
    let feed = feed_with_data();
    let (status, bars) = get_json(&feed, "/api/bars").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        bars,
        json!([
            [0, 100.0, 101.5, 99.0, 100.5, 2.5],
            [60_000, 100.0, 101.5, 99.0, 101.0, 2.5],
            [120_000, 100.0, 101.5, 99.0, 99.5, 2.5],
        ])
    );
    let (_, since) = get_json(&feed, "/api/bars?since=60000").await;
    assert_eq!(since.as_array().unwrap().len(), 2);
    let (_, none) = get_json(&feed, "/api/bars?since=999999999").await;
    assert_eq!(none, json!([]));

    let (status, metrics) = get_json(&feed, "/api/metrics?since=60000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        metrics,
        json!([[60_000, 0.1, 0.5, -0.2, 0.25, 0.0, 3.0, -1.0, 2.0]])
    );
}

#[tokio::test]
async fn depth_and_status() {
    let feed = feed_with_data();
    let (_, depth) = get_json(&feed, "/api/depth").await;
    assert_eq!(
        depth,
        json!({"bids": [[99.5, 1.0], [99.0, 2.0]], "asks": [[100.5, 3.0]]})
    );
    let (_, status) = get_json(&feed, "/api/status").await;
    assert_eq!(
        status,
        json!({
            "instrument": "BTC-USDT", "start": 0, "end": 86_400_000, "progress": 0.5,
            "replay_ts": 120_000, "rows_per_sec": 1000.0, "rows_read": 42,
            "phase": "processing", "message": "replaying 1 file",
            "integrity": {
                "gaps": 1, "resets": 0, "heartbeats": 0, "crossed": 2,
                "examples": [{"file": "f.db", "row_id": 7, "kind": "gap"}],
                "uncertain": [{"from": 60_000, "to": 90_000}, {"from": 100_000, "to": null}],
            },
        })
    );
}

#[tokio::test]
async fn a_bad_query_is_a_400_with_a_json_error() {
    let feed = feed_with_data();
    for uri in [
        "/api/bars?since=yesterday",
        "/api/metrics?since=1.5",
        "/api/bars?from=0",
    ] {
        let (status, body) = get_json(&feed, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            body["error"].as_str().unwrap().contains("since"),
            "{uri}: {body}"
        );
    }
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let feed = feed_with_data();
    for uri in [
        "/nope",
        "/api/nope",
        "/assets/missing.js",
        "/assets/../Cargo.toml",
    ] {
        let (status, _, _) = get(&feed, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn a_request_that_names_another_host_is_refused() {
    let feed = feed_with_data();
    for host in ["localhost:8050", "127.0.0.1:8050", "[::1]:8050"] {
        let (status, _, _) = get_from(&feed, "/api/status", Some(host)).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    for (uri, host) in [
        ("/api/status", Some("attacker.example:8050")),
        ("/api/bars", Some("attacker.example")),
        ("/", Some("127.0.0.1:9999")),
        ("/api/stream", Some("rebound.attacker.example:8050")),
        ("/nope", Some("attacker.example:8050")),
        ("/api/status", None),
        ("http://attacker.example:8050/api/status", Some(LOCAL)),
    ] {
        let (status, headers, body) = get_from(&feed, uri, host).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{uri} {host:?}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let body: Value = serde_json::from_slice(&body).unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(message.contains("localhost:8050"), "{message}");
        assert!(!message.contains("BTC-USDT"), "no data in a refusal");
    }
}

#[tokio::test]
async fn every_client_shares_one_rendering_of_a_snapshot_and_of_an_update() {
    let feed = feed_with_data();
    let snapshots = stream::Snapshots::new(feed.clone());
    let (seq, first) = snapshots.current().await;
    let (_, second) = snapshots.current().await;
    assert_eq!(first.as_ptr(), second.as_ptr(), "one rendering, shared");
    assert!(first.starts_with(b"event: snapshot\ndata: {"));
    feed.publish(Update::default());
    let (newer, third) = snapshots.current().await;
    assert_eq!(newer, seq + 1);
    assert_ne!(
        first.as_ptr(),
        third.as_ptr(),
        "a new version is rendered anew"
    );
}

/// Reads server-sent events from a response body: (event name, data) pairs.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if !name.is_empty() {
                    return (name, serde_json::from_str(&data).unwrap());
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.response.chunk())
                .await
                .expect("an event within 5 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[tokio::test]
async fn the_push_stream_sends_a_snapshot_then_updates_and_ends_on_shutdown() {
    let feed = feed_with_data();
    let listener = bind("127.0.0.1", 0).await.unwrap();
    let url = url(&listener).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, feed.clone(), async {
        let _ = stopped.await;
    }));

    let response = reqwest::get(format!("{url}/api/stream")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut events = Events {
        response,
        buffer: String::new(),
    };

    let (name, snapshot) = events.next().await;
    assert_eq!(name, "snapshot");
    assert_eq!(snapshot["bars"].as_array().unwrap().len(), 3);
    assert_eq!(snapshot["metrics"].as_array().unwrap().len(), 2);
    assert_eq!(snapshot["status"]["instrument"], "BTC-USDT");

    // Published from a plain thread, as the processing loop does.
    let publisher = feed.clone();
    std::thread::spawn(move || {
        publisher.publish(Update {
            bars: vec![bar(180_000, 102.0)],
            status: Status {
                phase: Phase::Done,
                ..status()
            },
            ..Update::default()
        })
    })
    .join()
    .unwrap();
    let (name, update) = events.next().await;
    assert_eq!(name, "update");
    assert_eq!(
        update["bars"],
        json!([[180_000, 100.0, 101.5, 99.0, 102.0, 2.5]])
    );
    assert_eq!(update["metrics"], json!([]));
    assert_eq!(update["status"]["phase"], "done");
    assert!(update["seq"].as_u64() > snapshot["seq"].as_u64());

    // A replaced state reaches the client as a fresh snapshot.
    feed.reset(
        vec![bar(0, 1.0)],
        vec![],
        Depth::default(),
        Status::default(),
    );
    let (name, snapshot) = events.next().await;
    assert_eq!(
        (name.as_str(), snapshot["bars"].as_array().unwrap().len()),
        ("snapshot", 1)
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("shutdown does not wait on the open push stream")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_lagging_client_gets_a_full_snapshot_instead_of_a_backlog() {
    let feed = feed_with_data();
    let listener = bind("127.0.0.1", 0).await.unwrap();
    let url = url(&listener).unwrap();
    tokio::spawn(serve(listener, feed.clone(), std::future::pending()));
    let response = reqwest::get(format!("{url}/api/stream")).await.unwrap();
    let mut events = Events {
        response,
        buffer: String::new(),
    };
    assert_eq!(events.next().await.0, "snapshot");

    let total = crate::output::live::CHANNEL_CAPACITY as i64 * 3;
    for i in 0..total {
        feed.publish(Update {
            bars: vec![bar(1_000_000 + i * 60_000, 1.0)],
            ..Update::default()
        });
    }
    // Reads until the client has every bar; somewhere on the way it was resynced.
    let (mut bars, mut resynced) = (std::collections::BTreeSet::new(), false);
    while bars.len() < (total + 3) as usize {
        let (name, message) = events.next().await;
        if name == "snapshot" {
            resynced = true;
            bars.clear();
        }
        bars.extend(
            message["bars"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row[0].as_i64().unwrap()),
        );
    }
    assert!(resynced, "a client that fell behind was sent a snapshot");
}

#[tokio::test]
async fn a_taken_port_says_what_to_do() {
    let taken = bind("127.0.0.1", 0).await.unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = bind("127.0.0.1", port).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "port {port} on 127.0.0.1 is in use: pass --port with a free port (or --port 0 to let the system choose one)"
        )
    );
}

/// A server on 127.0.0.1 port 0 within `limits`; its address and the sender that stops it.
async fn spawn_server(
    feed: &LiveFeed,
    limits: Limits,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<io::Result<()>>,
) {
    let listener = bind("127.0.0.1", 0).await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_within(listener, feed.clone(), limits, async {
        let _ = stopped.await;
    }));
    (address, stop, server)
}

fn short_limits() -> Limits {
    Limits {
        max_connections: 1000,
        header_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(1),
    }
}

/// Reads until the server closes the connection (or resets it); `None` when it is still open
/// after `within`. Returns the bytes read.
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    within: Duration,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| answer)
}

/// Connects and sends `send`, with `{host}` replaced by the server's address.
async fn connect(address: std::net::SocketAddr, send: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let send = send.replace("{host}", &address.to_string());
    stream.write_all(send.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn a_client_that_sends_no_whole_request_head_is_closed() {
    let feed = feed_with_data();
    let (address, _stop, _server) = spawn_server(&feed, short_limits()).await;
    let mut silent = connect(address, "").await;
    let mut slow = connect(address, "GET /api/status HTTP/1.1\r\nHost: local").await;
    let mut kept_alive = connect(address, "GET /api/status HTTP/1.1\r\nHost: {host}\r\n\r\n").await;
    for (name, stream) in [
        ("silent", &mut silent),
        ("slowloris", &mut slow),
        ("kept alive after its answer", &mut kept_alive),
    ] {
        let answer = read_until_closed(stream, Duration::from_secs(3)).await;
        assert!(answer.is_some(), "{name}: still open after 3 s");
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_are_answered_503_and_closed() {
    let feed = feed_with_data();
    let limits = Limits {
        max_connections: 2,
        header_timeout: Duration::from_secs(10),
        ..short_limits()
    };
    let (address, _stop, _server) = spawn_server(&feed, limits).await;
    let first = connect(address, "").await;
    let _second = connect(address, "GET /api/status HTTP/1.1\r\n").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(address, "GET /api/status HTTP/1.1\r\nHost: {host}\r\n\r\n").await;
    let answer = read_until_closed(&mut third, Duration::from_secs(2))
        .await
        .expect("the third connection is closed at once");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    assert!(serde_json::from_str::<Value>(body).is_ok(), "{body}");

    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = connect(
        address,
        "GET /api/status HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    )
    .await;
    let answer = read_until_closed(&mut fourth, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200 "),
        "a freed place is taken again: {}",
        String::from_utf8_lossy(&answer)
    );
}

/// A state whose snapshot is far larger than the socket buffers (about 15 MB).
fn big_feed() -> LiveFeed {
    let feed = feed_with_data();
    feed.publish(Update {
        bars: (0..400_000)
            .map(|i| bar(1_000_000 + i * 1000, 100.25))
            .collect(),
        ..Update::default()
    });
    feed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stopped_reading_is_closed_when_idle_and_never_holds_up_shutdown() {
    let feed = big_feed();
    let limits = Limits {
        idle_timeout: Duration::from_secs(60),
        ..short_limits()
    };
    let (address, stop, server) = spawn_server(&feed, limits).await;
    let _stalled = connect(address, "GET /api/stream HTTP/1.1\r\nHost: {host}\r\n\r\n").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let asked = std::time::Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("shutdown does not wait on a client that stopped reading")
        .unwrap()
        .unwrap();
    let took = asked.elapsed();
    assert!(took < Duration::from_millis(1500), "shutdown took {took:?}");

    // Without a shutdown, the idle timeout closes it.
    let (address, _stop, _server) = spawn_server(&feed, short_limits()).await;
    let mut stalled = connect(address, "GET /api/stream HTTP/1.1\r\nHost: {host}\r\n\r\n").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answer = read_until_closed(&mut stalled, Duration::from_secs(5))
        .await
        .expect("the stalled connection was closed");
    let snapshot_len = stream::Snapshots::new(feed.clone()).current().await.1.len();
    assert!(
        answer.len() < snapshot_len,
        "closed before the whole snapshot was taken"
    );
}
