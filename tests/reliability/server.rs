//! The server under abuse and load, on 127.0.0.1 only: loopback by default, clean 4xx answers
//! to bad requests, and 200 push-stream clients plus one that never reads neither slow the
//! publisher nor grow memory without bound.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use orderflow::engine::{Bar, Depth, Level};
use orderflow::output::live::{LiveFeed, Status, Update};

use super::child::Child;

/// `orderflow serve --port 0` on an empty JSON folder, and the address it announced.
fn serve() -> (Child, SocketAddr, tempfile::TempDir) {
    serve_in(tempfile::tempdir().unwrap())
}

/// `orderflow serve --port 0` on this JSON folder.
fn serve_in(json_dir: tempfile::TempDir) -> (Child, SocketAddr, tempfile::TempDir) {
    let child = Child::spawn(&[
        "serve",
        "--port",
        "0",
        "--json-dir",
        json_dir.path().to_str().unwrap(),
    ]);
    let line = child.wait_for_line("listening on http://", Duration::from_secs(30));
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    (child, address.parse().unwrap(), json_dir)
}

/// Sends `raw` and returns the status code of the answer (0 when there was none).
fn status_of(address: SocketAddr, raw: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before reading all of a huge request.
    let _ = stream.write_all(raw);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (code, answer)
}

fn get(address: SocketAddr, target: &str) -> (u16, String) {
    status_of(
        address,
        format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

#[test]
fn the_server_listens_on_loopback_by_default_and_stops_on_ctrl_c() {
    let (mut child, address, _json) = serve();
    assert!(address.ip().is_loopback(), "{address}");
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_eq!(get(address, "/api/status").0, 200);
    child.interrupt();
    let status = child.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", child.text());
}

#[test]
fn bad_requests_get_clean_4xx_answers() {
    let (_child, address, _json) = serve();
    for (target, expected) in [
        ("/nope", 404),
        ("/api/nope", 404),
        ("/api/bars/extra", 404),
        ("/assets/", 404),
        ("/assets/missing.js", 404),
        ("/assets/../../Cargo.toml", 404),
        ("/assets/%2e%2e/%2e%2e/Cargo.toml", 404),
        ("/assets/..%2f..%2fCargo.toml", 404),
        ("/api/bars?since=abc", 400),
        ("/api/bars?since=", 400),
        ("/api/bars?since=1e3", 400),
        ("/api/bars?since=99999999999999999999999", 400),
        ("/api/bars?since=%FF%FE", 400),
        ("/api/bars?since=1&limit=2", 400),
        ("/api/metrics?from=0", 400),
        ("/api/metrics?since=-", 400),
    ] {
        let (code, answer) = get(address, target);
        assert_eq!(code, expected, "GET {target}:\n{answer}");
        if target.starts_with("/api") {
            assert!(answer.contains("{\"error\":"), "a JSON error: {answer}");
        }
    }
    for (raw, expected) in [
        (
            format!("POST /api/bars HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes(),
            405,
        ),
        (
            format!("DELETE /api/status HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .into_bytes(),
            405,
        ),
        (b"this is not http\r\n\r\n".to_vec(), 400),
        (b"GET /api/status HTTP/1.1\r\nHost x\r\n\r\n".to_vec(), 400),
        (huge_header(), 431),
    ] {
        let (code, answer) = status_of(address, &raw);
        assert_eq!(
            code,
            expected,
            "{}:\n{answer}",
            String::from_utf8_lossy(&raw[..raw.len().min(60)])
        );
    }
    assert_eq!(
        get(address, "/api/status").0,
        200,
        "still serving after all that"
    );
}

#[test]
fn a_request_naming_another_host_is_refused() {
    let (_child, address, _json) = serve();
    let port = address.port();
    for host in [
        format!("attacker.example:{port}"),
        format!("127.0.0.1.attacker.example:{port}"),
        "localhost:1".to_string(),
    ] {
        let (code, answer) = status_of(
            address,
            format!("GET /api/status HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(code, 421, "{host}:\n{answer}");
        assert!(
            !answer.contains("\"phase\""),
            "no data in the refusal: {answer}"
        );
    }
    for host in [format!("localhost:{port}"), format!("[::1]:{port}")] {
        let (code, answer) = status_of(
            address,
            format!("GET /api/status HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(code, 200, "{host}:\n{answer}");
    }
}

#[test]
fn a_fifo_or_a_device_in_the_folder_neither_freezes_serve_nor_keeps_it_from_stopping() {
    let json_dir = tempfile::tempdir().unwrap();
    let fifo = std::ffi::CString::new(
        json_dir
            .path()
            .join("ohlc_data.json")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("/dev/zero", json_dir.path().join("metrics_data.json")).unwrap();
    let (mut child, address, _json) = serve_in(json_dir);
    // A few polls pass.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(address, "/api/status").0, 200);
    child.interrupt();
    let status = child.wait(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{}", child.text());
    let text = child.text();
    assert!(
        text.contains("not a regular file but a FIFO")
            && text.contains("not a regular file but a device"),
        "{text}"
    );
}

fn huge_header() -> Vec<u8> {
    let mut raw = b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 1 << 20));
    raw.extend(b"\r\n\r\n");
    raw
}

/// The load test runs in a process of its own, so that its memory is measured alone, and is
/// stopped after a minute whatever happens.
#[test]
fn push_clients_and_a_stalled_one_neither_slow_publishing_nor_grow_memory() {
    let mut child = Child::spawn_command(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "reliability::server::push_load_in_this_process",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ORDERFLOW_LOAD_TEST", "1"),
    );
    let status = child.wait(Duration::from_secs(60));
    let text = child.text();
    assert!(status.success() && text.contains("1 passed"), "{text}");
    println!("{text}");
}

/// Reading clients.
const CLIENTS: usize = 200;
/// Updates published while they read.
const UPDATES: usize = 3_000;
/// Levels per depth side: about 11 KB of JSON per update, 30 MB for all of them.
const DEPTH_LEVELS: usize = 400;
const MARKER: &str = "the-final-update";

#[test]
#[ignore = "run in a process of its own by push_clients_and_a_stalled_one_neither_slow_publishing_nor_grow_memory"]
fn push_load_in_this_process() {
    if std::env::var_os("ORDERFLOW_LOAD_TEST").is_none() {
        return;
    }
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let feed = LiveFeed::new(Status::default());
    let listener = runtime
        .block_on(orderflow::web::bind("127.0.0.1", 0))
        .unwrap();
    let address = listener.local_addr().unwrap();
    assert!(address.ip().is_loopback());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(orderflow::web::serve(listener, feed.clone(), async {
        let _ = stopped.await;
    }));

    // One client asks for the stream and never reads a byte of it.
    let mut stalled = TcpStream::connect(address).unwrap();
    stalled
        .write_all(format!("GET /api/stream HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
        .unwrap();

    let subscribed = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let subscribed = subscribed.clone();
            std::thread::spawn(move || read_until_marker(address, subscribed))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribed.load(Ordering::SeqCst) < CLIENTS {
        assert!(Instant::now() < deadline, "clients did not all connect");
        std::thread::sleep(Duration::from_millis(10));
    }

    // A first round brings every buffer to its high-water mark (the channel full, the stalled
    // client's socket full, lagging clients resynced); memory must stay there in the second,
    // three times longer round, where buffering every update would add ~100 MB.
    publish(&feed, 0..UPDATES);
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = rss_kib();
    let publisher = {
        let feed = feed.clone();
        std::thread::spawn(move || publish(&feed, UPDATES..4 * UPDATES))
    };
    let (publish_time, slowest) = publisher.join().unwrap();
    feed.set_status(Status {
        message: MARKER.into(),
        ..Status::default()
    });
    let published = Instant::now();
    // A reader that never gets the final state fails on its 30 s read timeout.
    let bytes: Vec<usize> = readers
        .into_iter()
        .map(|reader| {
            reader
                .join()
                .expect("every reading client gets the final state")
        })
        .collect();
    let all_caught_up = published.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let rss_after = rss_kib();

    let _ = stop.send(());
    drop(stalled);
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), server).await })
        .expect("the server stops")
        .unwrap()
        .unwrap();

    let total: usize = bytes.iter().sum();
    println!(
        "load: {CLIENTS} reading clients + 1 stalled; {} updates of ~{} KB published in {publish_time:?} \
         (slowest {slowest:?}); all clients had the final state {all_caught_up:?} later; \
         {} MB sent to readers (min {} KB, max {} KB per client); RSS {} -> {} MB; whole test {:?}",
        3 * UPDATES,
        update_json_kib(),
        total >> 20,
        bytes.iter().min().unwrap() >> 10,
        bytes.iter().max().unwrap() >> 10,
        rss_before >> 10,
        rss_after >> 10,
        started.elapsed()
    );
    assert!(
        slowest < Duration::from_millis(500),
        "no publish waits on a client: slowest {slowest:?}"
    );
    assert!(
        publish_time < Duration::from_secs(10),
        "publishing is not held up: {publish_time:?}"
    );
    let buffered_all = (3 * UPDATES * update_json_kib()) as u64;
    assert!(
        rss_after.saturating_sub(rss_before) < buffered_all / 4,
        "memory stays bounded: RSS {rss_before} -> {rss_after} KiB in the second round, while buffering its \
         updates for the stalled client alone would take {buffered_all} KiB"
    );
}

fn update(i: usize) -> Update {
    let level = |price: f64| Level {
        price,
        size: 1.0 + (i % 7) as f64 * 0.125,
    };
    Update {
        bars: vec![Bar {
            ts: (i % 50) as i64 * 60_000,
            open: 100.0,
            high: 101.0 + (i % 3) as f64,
            low: 99.0,
            close: 100.5,
            volume: i as f64,
        }],
        metric_bars: vec![],
        footprints: vec![],
        prints: Default::default(),
        depth: Depth {
            bids: (0..DEPTH_LEVELS)
                .map(|k| level(1000.0 - k as f64 * 0.25))
                .collect(),
            asks: (0..DEPTH_LEVELS)
                .map(|k| level(1000.5 + k as f64 * 0.25))
                .collect(),
        },
        status: Status {
            message: format!("update {i}"),
            ..Status::default()
        },
    }
}

fn update_json_kib() -> usize {
    orderflow::web::json::update(1, &update(1)).len() >> 10
}

/// Publishes updates `range` (each built just before, so the test holds none of them);
/// returns the time spent in `publish` and the slowest single call.
fn publish(feed: &LiveFeed, range: std::ops::Range<usize>) -> (Duration, Duration) {
    let (mut total, mut slowest) = (Duration::ZERO, Duration::ZERO);
    for i in range {
        let update = update(i);
        let one = Instant::now();
        feed.publish(update);
        let took = one.elapsed();
        total += took;
        slowest = slowest.max(took);
    }
    (total, slowest)
}

/// Reads the push stream on a thread of its own until the marker shows; returns the bytes read.
fn read_until_marker(address: SocketAddr, subscribed: Arc<AtomicUsize>) -> usize {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(format!("GET /api/stream HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
        .unwrap();
    let mut buffer = vec![0u8; 64 * 1024];
    // The end of the previous read, so a marker split between two reads is still found.
    let mut carry: Vec<u8> = Vec::new();
    let (mut total, mut counted) = (0, false);
    loop {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "the server closed a reading client's stream");
        total += n;
        carry.extend_from_slice(&buffer[..n]);
        if !counted && contains(&carry, b"event: snapshot") {
            counted = true;
            subscribed.fetch_add(1, Ordering::SeqCst);
        }
        if contains(&carry, MARKER.as_bytes()) {
            return total;
        }
        let keep = carry.len().saturating_sub(64);
        carry.drain(..keep);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Resident memory of this process, KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
