//! A recording that a recorder is still writing (SPEC 4): reading it gives the result of the
//! rows committed when reading began, never a wrong one, never through immutable mode, and
//! never holds a rollback-journal recorder back long enough to fail a commit.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::child::Child;
use super::{DAY16, GOOD, OTHER, good_recording};
use crate::common::{SCHEMA, orderflow};

/// Trades committed before `process` starts; the recorder then goes on appending.
const INITIAL_TRADES: i64 = 20_000;
/// Trades per transaction of the recorder.
const BATCH: i64 = 100;

/// How a recorder journals its writes.
#[derive(Clone, Copy, Debug)]
enum Journal {
    /// WAL mode that never checkpoints, so every row lives in the `-wal` file: a reader that
    /// ignored it (immutable mode) would find nothing at all.
    Wal,
    /// SQLite's default rollback journal: a reader's shared lock keeps the recorder from
    /// committing, and a recorder's lock keeps readers out.
    Rollback,
}

/// A recorder, as an exchange feed handler writes: a transaction of trades and book rows at a
/// time, with a busy timeout of 200 ms.
struct Recorder {
    db: rusqlite::Connection,
    /// Trades written so far; trade `i` is at `DAY16 + i * 100` ms.
    next: i64,
    /// Commits that failed (the busy timeout ran out), and the longest commit.
    failed: Vec<String>,
    slowest: Duration,
}

impl Recorder {
    fn open(path: &Path, journal: Journal) -> Recorder {
        let db = rusqlite::Connection::open(path).unwrap();
        match journal {
            Journal::Wal => db
                .execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;")
                .unwrap(),
            Journal::Rollback => db.execute_batch("PRAGMA journal_mode = DELETE;").unwrap(),
        }
        db.busy_timeout(Duration::from_millis(200)).unwrap();
        db.execute_batch(SCHEMA).unwrap();
        Recorder {
            db,
            next: 0,
            failed: Vec::new(),
            slowest: Duration::ZERO,
        }
    }

    /// Appends `n` trades, and a book row every 10 trades (a snapshot first), in one
    /// transaction; a transaction that cannot commit is counted and rolled back.
    fn append(&mut self, n: i64) {
        let started = Instant::now();
        if let Err(error) = self.try_append(n) {
            self.failed.push(error.to_string());
            return;
        }
        self.slowest = self.slowest.max(started.elapsed());
        self.next += n;
    }

    fn try_append(&mut self, n: i64) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        for i in self.next..self.next + n {
            let ts = DAY16 + i * 100;
            if i % 10 == 0 {
                let action = if i == 0 { "snapshot" } else { "update" };
                let bid = 1000 + i % 13;
                tx.execute(
                    "INSERT INTO book (instrument, action, bids, asks, timestamp) VALUES ('BTC-USDT', ?1, ?2, ?3, ?4)",
                    rusqlite::params![
                        action,
                        format!("[[\"{bid}\",\"{}\"]]", 1 + i % 4),
                        format!("[[\"{}\",\"{}\"]]", bid + 3, 1 + i % 5),
                        ts
                    ],
                )?;
            }
            tx.execute(
                "INSERT INTO trades (instrument, trade_id, price, size, side, timestamp) VALUES ('BTC-USDT', ?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    i,
                    1000.0 + (i % 17) as f64,
                    0.5 + (i % 3) as f64,
                    if i % 4 == 0 { "sell" } else { "buy" },
                    ts + 50
                ],
            )?;
        }
        tx.commit()
    }
}

fn read_json(dir: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_recording_written_while_it_is_read_gives_the_rows_committed_when_reading_began() {
    read_while_recording(Journal::Wal, Duration::from_millis(2));
}

/// The recorder of issue 12: a commit every 50 ms, each waiting at most 200 ms for the lock.
/// Before, the file was opened immutable once it looked quiet and read without any lock.
#[test]
fn a_rollback_journal_recorder_never_fails_a_commit_and_is_never_read_half() {
    read_while_recording(Journal::Rollback, Duration::from_millis(50));
}

fn read_while_recording(journal: Journal, pause: Duration) {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join(OTHER);
    let mut recorder = Recorder::open(&path, journal);
    while recorder.next < INITIAL_TRADES {
        recorder.append(1_000);
    }
    assert!(recorder.failed.is_empty(), "{:?}", recorder.failed);
    if let Journal::Wal = journal {
        assert!(
            data.path().join(format!("{OTHER}-wal")).exists(),
            "the rows are in the WAL"
        );
    }

    // The recorder goes on appending while `process` reads.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicI64::new(recorder.next));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                recorder.append(BATCH);
                written.store(recorder.next, Ordering::Relaxed);
                std::thread::sleep(pause);
            }
            recorder
        })
    };
    // Quiet for a minute, as a recorder between two bursts: before, such a file was opened
    // immutable and read without any lock (and a WAL's rows not at all).
    crate::common::age(&path);
    let live = tempfile::tempdir().unwrap();
    let summary = live.path().join("summary.json");
    let before = written.load(Ordering::Relaxed);
    let mut child = Child::spawn(&super::day_run(
        "process",
        "2025-01-16",
        data.path(),
        live.path(),
        &["--summary", summary.to_str().unwrap()],
    ));
    let status = child.wait(Duration::from_secs(60));
    let during = written.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    let recorder = writer.join().unwrap();
    let total = recorder.next;
    let text = child.text();
    assert!(
        recorder.failed.is_empty(),
        "{} commits failed while the file was read ({:?}); slowest commit {:?}",
        recorder.failed.len(),
        recorder.failed.first(),
        recorder.slowest
    );
    drop(recorder);
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(during > 0, "the recorder appended while the file was read");

    let live_summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let live_trades = live_summary["trades"].as_i64().unwrap();
    assert!(
        (before..=total).contains(&live_trades),
        "every trade committed when reading began is read ({before} ≤ {live_trades} ≤ {total}):\n{text}"
    );
    assert_eq!(live_summary["skipped"]["total"], 0);

    // The same file once the recorder has stopped.
    let after = crate::common::process(data.path(), "BTC-USDT", "2025-01-16", "2025-01-16", &[]);
    assert_eq!(after.code(), 0, "{}", after.stderr());
    assert_eq!(after.summary()["trades"], total);

    // Every window the live run closed is exactly as in the run after; its last, open window
    // holds a prefix of the same trades.
    let (live_bars, final_bars) = (
        read_json(live.path(), "ohlc_data.json"),
        read_json(after.json_dir.path(), "ohlc_data.json"),
    );
    let (last, closed) = live_bars.split_last().unwrap();
    assert!(
        closed.len() > 10,
        "the live run saw {} windows",
        live_bars.len()
    );
    for bar in closed {
        assert!(final_bars.contains(bar), "bar {bar} is the same after");
    }
    let final_last = final_bars.iter().find(|bar| bar[0] == last[0]).unwrap();
    assert_eq!(last[1], final_last[1], "the open of the last live window");
    assert!(
        last[5].as_f64() <= final_last[5].as_f64(),
        "its volume so far"
    );

    let live_metrics = read_json(live.path(), "metrics_data.json");
    let final_metrics = read_json(after.json_dir.path(), "metrics_data.json");
    let closed_metrics: Vec<&Value> = live_metrics
        .iter()
        .filter(|bar| bar[0].as_i64() < last[0].as_i64())
        .collect();
    assert!(!closed_metrics.is_empty());
    for bar in closed_metrics {
        assert!(
            final_metrics.contains(bar),
            "metric bar {bar} is the same after"
        );
    }
}

#[test]
fn a_lock_held_past_5_seconds_makes_the_file_unusable_and_the_rest_is_processed() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let locked = rusqlite::Connection::open(data.path().join(OTHER)).unwrap();
    locked.execute_batch(SCHEMA).unwrap();
    // Quiet for a minute, and no journal yet (a rollback journal is only created by the first
    // write): before, such a file was opened immutable and read straight through the lock.
    crate::common::age(&data.path().join(OTHER));
    locked.execute_batch("BEGIN EXCLUSIVE;").unwrap();

    let started = Instant::now();
    let output = orderflow(&[
        "process",
        "BTC-USDT",
        "2025-01-15",
        "2025-01-16",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--json-dir",
        data.path().join("out").to_str().unwrap(),
    ]);
    let took = started.elapsed();
    drop(locked);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(OTHER) && text.to_lowercase().contains("lock"),
        "{text}"
    );
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(30)).contains(&took),
        "waited 5 s for the lock, then went on: {took:?}"
    );
    let ohlc = read_json(&data.path().join("out"), "ohlc_data.json");
    assert_eq!(ohlc.len(), 1, "the good file was processed");
}
