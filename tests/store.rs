//! The store (SPEC 9.1) and its signals (SPEC 9.2) end to end: `process --store` equals the
//! JSON files, a second run leaves the same store, a killed run leaves a readable store that
//! says so, user rules and `--on-signal`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;

use crate::common::process;

/// An hour of synthetic recording in `dir` (small: a book row a second).
fn synthetic_hour(dir: &Path, hours: f64, book_interval_ms: u32) {
    let mut config = orderflow::synth::SynthConfig::new(dir);
    config.hours = hours;
    config.book_interval_ms = book_interval_ms;
    config.trades_per_minute = 300.0;
    config.snapshot_levels = 20;
    orderflow::synth::generate(&config, None).unwrap();
}

/// Every row of `table` but those of `runs`, as text, in key order.
fn dump(store: &Path, table: &str) -> Vec<String> {
    let db = Connection::open(store).unwrap();
    let mut stmt = db
        .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5"))
        .unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        let cells: Vec<String> = (0..columns)
            .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
            .collect();
        Ok(cells.join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn numbers(store: &Path, sql: &str) -> Vec<Vec<f64>> {
    let db = Connection::open(store).unwrap();
    let mut stmt = db.prepare(sql).unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        Ok((0..columns)
            .map(|i| match row.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Integer(x) => x as f64,
                rusqlite::types::ValueRef::Real(x) => x,
                other => panic!("not a number: {other:?}"),
            })
            .collect())
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn json_rows(value: &Value) -> Vec<Vec<f64>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn the_store_equals_the_json_files_and_a_second_run_leaves_the_same_store() {
    let data = tempfile::tempdir().unwrap();
    synthetic_hour(data.path(), 1.0, 1000);
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store.db");
    let store_arg = store.to_str().unwrap();
    let args = ["--store", store_arg, "--big-print", "0.05"];
    let first = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &args);
    assert_eq!(first.code(), 0, "{}", first.stderr());

    let bars = numbers(
        &store,
        "SELECT ts, open, high, low, close, volume FROM bars WHERE instrument = 'BTC-USDT' AND window_s = 60 ORDER BY ts",
    );
    assert_eq!(bars.len(), 60);
    assert_eq!(
        bars,
        json_rows(&first.json("ohlc_data.json")),
        "bars equal ohlc_data.json exactly"
    );
    let metrics = numbers(
        &store,
        "SELECT ts, obi_open, obi_high, obi_low, obi_close, cvd_open, cvd_high, cvd_low, cvd_close FROM metric_bars ORDER BY ts",
    );
    assert_eq!(
        metrics,
        json_rows(&first.json("metrics_data.json")),
        "metric bars equal metrics_data.json"
    );

    // The extras and the footprint agree with the bars: buy + sell is the volume, the trades
    // add up to the run's, and each bar's footprint sums to its extras.
    let extras = numbers(
        &store,
        "SELECT volume, buy_volume, sell_volume, trades FROM bars",
    );
    for row in &extras {
        assert!((row[1] + row[2] - row[0]).abs() <= 1e-9 * row[0], "{row:?}");
    }
    let trades: f64 = extras.iter().map(|row| row[3]).sum();
    assert_eq!(trades, first.summary()["trades"].as_f64().unwrap());
    let footprint = numbers(
        &store,
        "SELECT b.buy_volume, b.sell_volume, sum(f.buy), sum(f.sell) FROM bars b JOIN footprint f USING (instrument, window_s, ts) GROUP BY b.ts",
    );
    assert_eq!(footprint.len(), 60);
    for row in &footprint {
        assert!((row[0] - row[2]).abs() <= 1e-9 * row[0].max(1.0), "{row:?}");
        assert!((row[1] - row[3]).abs() <= 1e-9 * row[1].max(1.0), "{row:?}");
    }
    let small = numbers(&store, "SELECT count(*) FROM prints WHERE size < 0.05");
    assert_eq!(
        small,
        [[0.0]],
        "the store keeps the prints big_print may fire on"
    );
    let big = numbers(&store, "SELECT count(*) FROM prints WHERE size >= 0.05");
    let big_signals = numbers(
        &store,
        "SELECT count(*) FROM signals WHERE name = 'big_print'",
    );
    assert!(big[0][0] > 0.0, "the data has prints of size >= 0.05");
    assert_eq!(big, big_signals, "one big_print per print of size >= 0.05");

    let before: Vec<Vec<String>> = ["bars", "metric_bars", "footprint", "prints", "signals"]
        .iter()
        .map(|table| dump(&store, table))
        .collect();
    let second = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &args);
    assert_eq!(second.code(), 0, "{}", second.stderr());
    for (table, rows) in ["bars", "metric_bars", "footprint", "prints", "signals"]
        .iter()
        .zip(&before)
    {
        assert_eq!(
            &dump(&store, table),
            rows,
            "{table} after the same run again"
        );
    }
    let db = Connection::open(&store).unwrap();
    let runs: Vec<(i64, String)> = db
        .prepare("SELECT id, status FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        runs,
        [(1, "finished".to_owned()), (2, "finished".to_owned())]
    );

    // A run over a part of the range replaces only that part.
    let part = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15T00:30:00Z",
        "2025-01-15T01:00:00Z",
        &args,
    );
    assert_eq!(part.code(), 0, "{}", part.stderr());
    assert_eq!(
        dump(&store, "bars")[..30],
        before[0][..30],
        "the first half is left as it was"
    );
    assert_eq!(dump(&store, "bars").len(), 60);
}

#[test]
fn a_run_killed_midway_leaves_a_readable_store_whose_run_is_unfinished() {
    let data = tempfile::tempdir().unwrap();
    synthetic_hour(data.path(), 1.0, 1000);
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store.db");
    // Paced at 120 times real time: the hour takes 30 s, long enough to be killed midway.
    let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args([
            "run",
            "BTC-USDT",
            "2025-01-15",
            "2025-01-15",
            "--port",
            "0",
            "--speed",
            "120",
        ])
        .args([
            "--emit-ms",
            "50",
            "--data-dir",
            data.path().to_str().unwrap(),
        ])
        .args(["--store", store.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let bars = |store: &Path| -> i64 {
        Connection::open(store)
            .and_then(|db| db.query_row("SELECT count(*) FROM bars", [], |row| row.get(0)))
            .unwrap_or(0)
    };
    while bars(&store) < 3 {
        assert!(Instant::now() < deadline, "no bars were stored");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended too soon"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let db = Connection::open(&store).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (status, finished): (String, Option<String>) = db
        .query_row("SELECT status, finished_at FROM runs", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!((status.as_str(), finished), ("unfinished", None));
    let stored = bars(&store);
    assert!(
        (3..60).contains(&stored),
        "{stored} bars: the last committed state"
    );
}

#[test]
fn a_store_that_is_a_recording_or_not_ours_is_refused() {
    let data = tempfile::tempdir().unwrap();
    synthetic_hour(data.path(), 0.1, 5000);
    let recording = data.path().join("BTC-USDT-2025-01-15.db");
    let before = std::fs::read(&recording).unwrap();
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--store", recording.to_str().unwrap()],
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("one of the recordings"),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read(&recording).unwrap(), before);

    let out = tempfile::tempdir().unwrap();
    let notes = out.path().join("notes.txt");
    std::fs::write(&notes, "my notes").unwrap();
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--store", notes.to_str().unwrap()],
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("not an SQLite database"),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
}

#[test]
fn user_rules_are_evaluated_by_sqlite_and_a_syntax_error_names_the_rule() {
    let data = tempfile::tempdir().unwrap();
    synthetic_hour(data.path(), 0.5, 2000);
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store.db");
    let rules = out.path().join("rules.sql");
    std::fs::write(
        &rules,
        "-- name: busy_bar\nSELECT ts, close AS price, trades AS value, 'many trades' AS detail FROM bars\n\
         WHERE instrument = :instrument AND window_s = :window_s AND ts >= :from AND ts < :to AND trades >= 300;\n",
    )
    .unwrap();
    let args = [
        "--store",
        store.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ];
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &args);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let expected = numbers(
        &store,
        "SELECT ts, close, trades FROM bars WHERE trades >= 300 ORDER BY ts",
    );
    let found = numbers(
        &store,
        "SELECT ts, price, value FROM signals WHERE name = 'busy_bar' ORDER BY ts",
    );
    assert!(!expected.is_empty(), "the data has busy bars");
    assert_eq!(found, expected);

    std::fs::write(
        &rules,
        "-- name: fine\nSELECT ts FROM bars\n\n-- name: typo\nSELEC ts FROM bars\n",
    )
    .unwrap();
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &args);
    assert_eq!(run.code(), 2);
    let stderr = run.stderr();
    assert!(
        stderr.contains("rule `typo`")
            && stderr.contains("line 4")
            && stderr.contains("syntax error"),
        "{stderr}"
    );
}

#[test]
fn on_signal_gets_each_signal_as_a_json_line_and_a_slow_or_failing_command_never_blocks() {
    let data = tempfile::tempdir().unwrap();
    synthetic_hour(data.path(), 0.5, 2000);
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store.db");
    let lines = out.path().join("lines.jsonl");
    let command = format!("cat >> {}", lines.display());
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--store", store.to_str().unwrap(), "--on-signal", &command],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let received: Vec<Value> = std::fs::read_to_string(&lines)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let stored = numbers(&store, "SELECT ts, price FROM signals ORDER BY ts");
    assert!(!stored.is_empty(), "the data gives signals");
    assert_eq!(received.len(), stored.len());
    for (line, row) in received.iter().zip(&stored) {
        assert_eq!(line["instrument"], "BTC-USDT");
        assert_eq!(line["ts"].as_f64().unwrap(), row[0]);
    }

    // Failing: reported, the run goes on and ends as usual.
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--on-signal", "exit 3", "--big-print", "0"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stderr().contains("exited with"), "{}", run.stderr());

    // Slow: every print is a signal (--big-print 0), the command takes 30 s each; the run ends
    // long before, dropping what does not fit the queue, and says so.
    let started = Instant::now();
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--on-signal", "sleep 30", "--big-print", "0"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    assert!(run.stderr().contains("dropped"), "{}", run.stderr());
}

#[test]
fn a_file_read_again_with_its_trades_sorted_leaves_the_store_equal_to_the_json_files() {
    // Trades out of time order by id: the read that trusted their order starts over, and the
    // store is written afresh from the state before the file.
    let data = tempfile::tempdir().unwrap();
    let day = 1_736_899_200_000_i64;
    let mut rows = String::from(
        "INSERT INTO book VALUES (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\"]]', '[[\"101\",\"1\"]]', 1736899200000);\n",
    );
    for id in 0..400_i64 {
        // Every tenth trade is a minute late for its id.
        let ts = day + id * 1_000 + if id % 10 == 3 { 60_000 } else { 0 };
        let side = if id % 3 == 0 { "sell" } else { "buy" };
        rows.push_str(&format!(
            "INSERT INTO trades VALUES ({id}, 'BTC-USDT', 't{id}', {}, {}, '{side}', {ts});\n",
            100 + id % 7,
            1 + id % 4
        ));
    }
    crate::common::recording(data.path(), "BTC-USDT-2025-01-15.db", &rows);
    let (_out, store, _) = process_into_store(data.path(), "2025-01-15", "2025-01-15", &[]);
    let trades = numbers(&store, "SELECT sum(trades) FROM bars");
    assert_eq!(trades, [[400.0]]);
}

#[test]
fn two_days_stitched_by_jobs_leave_the_store_of_one_job() {
    // Two day files: with `--jobs 2` the second is read by a worker and its bars and
    // footprints are built beside the stitcher's accounting, with no frame written meanwhile;
    // the store must still get every bar, metric bar and footprint row of `--jobs 1`.
    let data = tempfile::tempdir().unwrap();
    let mut config = orderflow::synth::SynthConfig::new(data.path());
    config.start_ms = 1_736_983_800_000; // 2025-01-15T23:30:00Z
    config.hours = 1.0;
    config.book_interval_ms = 1000;
    config.trades_per_minute = 300.0;
    config.snapshot_levels = 20;
    orderflow::synth::generate(&config, None).unwrap();
    let tables = ["bars", "metric_bars", "footprint", "prints", "signals"];
    let mut dumps = Vec::new();
    for jobs in ["1", "2"] {
        let (_out, store, bars) =
            process_into_store(data.path(), "2025-01-15", "2025-01-16", &["--jobs", jobs]);
        assert_eq!(bars.len(), 60, "--jobs {jobs}");
        dumps.push(tables.map(|table| dump(&store, table)));
    }
    assert_eq!(dumps[0], dumps[1]);
}

/// `process --store` of BTC-USDT over `data` from `start` to `end` (with `more` options) into
/// a new folder, kept while the returned guard lives; checks that it succeeds and that the
/// store's bars equal `ohlc_data.json`, and returns them.
fn process_into_store(
    data: &Path,
    start: &str,
    end: &str,
    more: &[&str],
) -> (tempfile::TempDir, std::path::PathBuf, Vec<Vec<f64>>) {
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store.db");
    let mut args = vec!["--store", store.to_str().unwrap()];
    args.extend_from_slice(more);
    let run = process(data, "BTC-USDT", start, end, &args);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let bars = numbers(
        &store,
        "SELECT ts, open, high, low, close, volume FROM bars ORDER BY ts",
    );
    assert_eq!(bars, json_rows(&run.json("ohlc_data.json")), "{more:?}");
    (out, store, bars)
}
