//! `run --follow` (SPEC 10.1): a recorder appends to a file (WAL and rollback journal) and
//! then starts the next day's file while `run --follow` reads them; the recorder's commits
//! never fail, and at the end the API holds what `process` gives over the final files.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::child::Child;
use super::{DAY, DAY16};
use crate::common::process;

const SCHEMA: &str = "
    CREATE TABLE book (id INTEGER PRIMARY KEY, instrument TEXT, action TEXT, bids TEXT, asks TEXT, timestamp INTEGER, seqId INTEGER, prevSeqId INTEGER);
    CREATE TABLE trades (id INTEGER PRIMARY KEY, instrument TEXT, trade_id TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);";

#[derive(Clone, Copy, Debug)]
enum Journal {
    Wal,
    Rollback,
}

/// A recorder writing one day file: a transaction per step (a book row and two trades), with
/// a busy timeout of 200 ms; a commit that fails is counted.
struct Recorder {
    db: rusqlite::Connection,
    step: i64,
    seq: i64,
    failed: Vec<String>,
}

impl Recorder {
    fn create(path: &Path, journal: Journal) -> Recorder {
        let db = rusqlite::Connection::open(path).unwrap();
        match journal {
            Journal::Wal => db.execute_batch("PRAGMA journal_mode = WAL;").unwrap(),
            Journal::Rollback => db.execute_batch("PRAGMA journal_mode = DELETE;").unwrap(),
        }
        db.busy_timeout(Duration::from_millis(200)).unwrap();
        db.execute_batch(SCHEMA).unwrap();
        Recorder {
            db,
            step: 0,
            seq: 100,
            failed: Vec::new(),
        }
    }

    /// Writes step `n` of the day starting at `day`: a book row every 50 ms of exchange time
    /// (a snapshot first, then updates; every 40th a lost message, a gap), and two trades.
    fn write(&mut self, day: i64) {
        let i = self.step;
        let ts = day + i * 50;
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.db.transaction()?;
            let (action, prev) = if i == 0 {
                ("snapshot", -1)
            } else if i % 40 == 0 {
                ("update", self.seq + 1)
            } else {
                ("update", self.seq)
            };
            let seq = prev.max(self.seq) + 1;
            let bid = 1000 + (i * 7) % 11;
            let bids = format!("[[\"{bid}\",\"{}.5\"],[\"{}\",\"2\"]]", 1 + i % 3, bid - 1);
            let asks = format!("[[\"{}\",\"{}.25\"]]", bid + 2, 1 + i % 4);
            tx.execute(
                "INSERT INTO book (instrument, action, bids, asks, timestamp, seqId, prevSeqId) VALUES ('BTC-USDT', ?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![action, bids, asks, ts, seq, prev],
            )?;
            for (k, side) in ["buy", "sell"].into_iter().enumerate() {
                tx.execute(
                    "INSERT INTO trades (instrument, trade_id, price, size, side, timestamp) VALUES ('BTC-USDT', ?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![format!("t{i}-{k}"), bid + 1, 0.25 + (i % 5) as f64 / 8.0, side, ts + 10 + k as i64],
                )?;
            }
            tx.commit()?;
            self.seq = seq;
            Ok(())
        })();
        match result {
            Ok(()) => self.step += 1,
            Err(error) => self.failed.push(error.to_string()),
        }
    }
}

/// GET `target`; the body.
fn get(address: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    // A chunked body: the JSON is between the first size line and the last chunk.
    if answer
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.push_str(&tail[..size]);
            rest = &tail[size + 2..];
        }
        return out;
    }
    body.to_owned()
}

fn get_json(address: SocketAddr, target: &str) -> Value {
    serde_json::from_str(&get(address, target)).unwrap()
}

fn follow_while_recording(journal: Journal) {
    let data = tempfile::tempdir().unwrap();
    let first = data.path().join("BTC-USDT-2025-01-15.db");
    let mut recorder = Recorder::create(&first, journal);
    // The recorded part, before the run starts: the last 30 s of the 15th.
    let day = DAY16 - 30_000;
    for _ in 0..200 {
        recorder.write(day);
    }
    let summary = data.path().join("summary.json");
    let mut child = Child::spawn(&[
        "run",
        "BTC-USDT",
        "2025-01-15",
        "--follow",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--port",
        "0",
        "--window-seconds",
        "1",
        "--emit-ms",
        "100",
        "--summary",
        summary.to_str().unwrap(),
    ]);
    let line = child.wait_for_line("listening on http://", Duration::from_secs(30));
    let address: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    // The live part: the rest of the 15th at twice real pace, ...
    let started = Instant::now();
    while recorder.step < 600 {
        recorder.write(day);
        std::thread::sleep(Duration::from_millis(25));
    }
    // ... then the 16th in a new file.
    let mut next = Recorder::create(&data.path().join("BTC-USDT-2025-01-16.db"), journal);
    while next.step < 100 {
        next.write(DAY16);
        std::thread::sleep(Duration::from_millis(25));
    }
    let written = started.elapsed();
    assert!(recorder.failed.is_empty(), "{:?}", recorder.failed);
    assert!(next.failed.is_empty(), "{:?}", next.failed);

    // What `process` makes of the final files.
    let done = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-16",
        &["--window-seconds", "1"],
    );
    assert_eq!(done.code(), 0, "{}", done.stderr());
    let expected_bars = done.json("ohlc_data.json");
    let expected_metrics = done.json("metrics_data.json");
    // The page holds it within a second of the last commit.
    let deadline = Instant::now() + Duration::from_secs(5);
    let caught_up = loop {
        let bars = get_json(address, "/api/bars");
        if bars == expected_bars {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "the API never caught up after {written:?}: {} bars vs {}\n{}",
            bars.as_array().unwrap().len(),
            expected_bars.as_array().unwrap().len(),
            child.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let lag = caught_up.saturating_duration_since(started + written);
    eprintln!("{journal:?}: the API held the last commit {lag:?} after it");
    assert!(lag < Duration::from_secs(1), "{lag:?}");
    assert_eq!(get_json(address, "/api/metrics"), expected_metrics);
    assert_eq!(
        get_json(address, "/api/depth"),
        done.json("depth_data.json")
    );
    let status = get_json(address, "/api/status");
    let integrity = &status["integrity"];
    let want = &done.summary()["integrity"];
    for key in ["gaps", "resets", "heartbeats", "crossed"] {
        assert_eq!(integrity[key], want[key], "{key}: {integrity} vs {want}");
    }
    assert_eq!(want["gaps"], 16, "a lost message every 40 rows: {want}");
    assert!(
        child.text().contains("a new file appeared"),
        "{}",
        child.text()
    );

    // Ctrl-C stops cleanly: exit 130, the summary written, interrupted.
    child.interrupt();
    let exit = child.wait(Duration::from_secs(10));
    assert_eq!(exit.code(), Some(130), "{}", child.text());
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["interrupted"], true);
    assert_eq!(summary["trades"], done.summary()["trades"]);
    assert_eq!(summary["book_rows"], done.summary()["book_rows"]);
    assert_eq!(summary["integrity"], done.summary()["integrity"]);
}

#[test]
fn follow_a_wal_recorder_and_its_next_file() {
    follow_while_recording(Journal::Wal);
}

#[test]
fn follow_a_rollback_journal_recorder_and_its_next_file() {
    follow_while_recording(Journal::Rollback);
}

#[test]
fn a_range_end_stops_following_and_process_still_needs_an_end() {
    let data = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::create(&data.path().join("BTC-USDT-2025-01-15.db"), Journal::Wal);
    for _ in 0..20 {
        recorder.write(DAY);
    }
    let run = crate::common::orderflow(&[
        "process",
        "BTC-USDT",
        "2025-01-15",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("END is missing"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn synth_live_records_at_pace_into_a_new_day_and_run_follow_shows_it_all() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let mut synth = Child::spawn(&[
        "synth",
        "--out",
        dir,
        "--live",
        "--start",
        "2025-01-15T23:59:57Z",
        "--hours",
        "0.0015",
        "--backfill-minutes",
        "0.02",
        "--levels",
        "30",
        "--drop-rate",
        "0.02",
        "--journal",
        "delete",
    ]);
    synth.wait_for_line("recording live into", Duration::from_secs(30));
    let mut run = Child::spawn(&[
        "run",
        "BTC-USDT",
        "2025-01-15",
        "--follow",
        "--data-dir",
        dir,
        "--port",
        "0",
        "--window-seconds",
        "1",
    ]);
    let line = run.wait_for_line("listening on http://", Duration::from_secs(30));
    let address: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let exit = synth.wait(Duration::from_secs(30));
    assert_eq!(exit.code(), Some(0), "{}", synth.text());
    assert!(
        synth.text().contains("BTC-USDT-2025-01-16.db"),
        "{}",
        synth.text()
    );
    let done = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-16",
        &["--window-seconds", "1"],
    );
    assert_eq!(done.code(), 0, "{}", done.stderr());
    let expected = done.json("ohlc_data.json");
    let deadline = Instant::now() + Duration::from_secs(2);
    while get_json(address, "/api/bars") != expected {
        assert!(Instant::now() < deadline, "{}", run.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        get_json(address, "/api/metrics"),
        done.json("metrics_data.json")
    );
    let gaps = &get_json(address, "/api/status")["integrity"]["gaps"];
    assert_eq!(gaps, &done.summary()["integrity"]["gaps"]);
    run.interrupt();
    assert_eq!(run.wait(Duration::from_secs(10)).code(), Some(130));
}

#[test]
fn demo_follow_records_live_and_shows_it_until_ctrl_c() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("live");
    let mut demo = Child::spawn(&[
        "demo",
        "--follow",
        "--port",
        "0",
        "--hours",
        "0.01",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    let line = demo.wait_for_line("listening on http://", Duration::from_secs(60));
    let address: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    // The 30 minutes written at once, then rows of now: the newest event is within seconds.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = get_json(address, "/api/status");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        if status["replay_ts"]
            .as_i64()
            .is_some_and(|ts| now - ts < 2_000)
        {
            assert!(get_json(address, "/api/bars").as_array().unwrap().len() >= 30);
            break;
        }
        assert!(Instant::now() < deadline, "{status}\n{}", demo.text());
        std::thread::sleep(Duration::from_millis(100));
    }
    demo.interrupt();
    assert_eq!(
        demo.wait(Duration::from_secs(20)).code(),
        Some(130),
        "{}",
        demo.text()
    );
}

#[test]
fn trades_committed_late_are_put_back_in_time_order() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("BTC-USDT-2025-01-15.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    db.busy_timeout(Duration::from_millis(200)).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    let mut run = Child::spawn_command(
        std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
            .env("RUST_LOG", "info,orderflow=debug")
            .args([
                "run",
                "BTC-USDT",
                "2025-01-15",
                "--follow",
                "--data-dir",
                data.path().to_str().unwrap(),
                "--port",
                "0",
                "--window-seconds",
                "1",
                "--emit-ms",
                "50",
            ]),
    );
    let line = run.wait_for_line("listening on http://", Duration::from_secs(30));
    let address: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    // Book rows committed one by one every 20 ms; their trades (each between two book rows in
    // time) committed in batches every 16 rows, 320 ms late: the book rows go out first, and
    // the trades must then be put back in their place.
    let mut pending: Vec<(i64, f64, &str)> = Vec::new();
    for i in 0..240i64 {
        let ts = DAY + 3_600_000 + i * 50;
        let action = if i == 0 { "snapshot" } else { "update" };
        let bid = 1000 + (i * 7) % 11;
        db.execute(
            "INSERT INTO book (instrument, action, bids, asks, timestamp, seqId, prevSeqId) VALUES ('BTC-USDT', ?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![action, format!("[[\"{bid}\",\"{}\"]]", 1 + i % 3), format!("[[\"{}\",\"2\"]]", bid + 2), ts, i + 1, if i == 0 { -1 } else { i }],
        )
        .unwrap();
        pending.push((
            ts + 20,
            0.5 + (i % 4) as f64,
            if i % 3 == 0 { "sell" } else { "buy" },
        ));
        if i % 16 == 15 {
            let tx = db.unchecked_transaction().unwrap();
            for (ts, size, side) in pending.drain(..) {
                tx.execute(
                    "INSERT INTO trades (instrument, trade_id, price, size, side, timestamp) VALUES ('BTC-USDT', 't', 1001, ?1, ?2, ?3)",
                    rusqlite::params![size, side, ts],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let done = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--window-seconds", "1"],
    );
    assert_eq!(done.code(), 0, "{}", done.stderr());
    let expected = done.json("metrics_data.json");
    let deadline = Instant::now() + Duration::from_secs(5);
    while get_json(address, "/api/metrics") != expected {
        assert!(
            Instant::now() < deadline,
            "{}\nvs\n{}\n{}",
            get_json(address, "/api/metrics"),
            expected,
            run.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get_json(address, "/api/bars"), done.json("ohlc_data.json"));
    assert!(
        run.text().contains("a row came late"),
        "the late trades were put back: {}",
        run.text()
    );
    run.interrupt();
    assert_eq!(run.wait(Duration::from_secs(10)).code(), Some(130));
}
