//! `--jobs`: reading on threads of their own (`--jobs 2`, `3`) gives byte for byte the JSON files and
//! the summary of the single-threaded run (`--jobs 1`), on multi-file ranges with carried-over
//! books, missing snapshots, overlaps, mid-file ranges and bad rows.

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::common::{Run, age, process, recording};

/// 2025-01-15T00:00:00Z in ms, and a day.
const DAY: i64 = 1_736_899_200_000;
const DAYS: i64 = 86_400_000;

/// Runs `process` with `--jobs 1` and with 2 and 3 jobs, and checks that every output agrees.
#[track_caller]
pub(crate) fn check_same_as_sequential(data: &Path, start: &str, end: &str, extra: &[&str]) -> Run {
    let run = |jobs: &str| {
        let mut args = vec!["--jobs", jobs];
        args.extend(extra);
        process(data, "BTC-USDT", start, end, &args)
    };
    let sequential = run("1");
    assert!(
        sequential.code() != 2 || sequential.summary()["files"].is_array(),
        "{}",
        sequential.stderr()
    );
    for jobs in ["2", "3"] {
        let parallel = run(jobs);
        assert_eq!(
            parallel.code(),
            sequential.code(),
            "exit status, --jobs {jobs}: {}",
            parallel.stderr()
        );
        for name in [
            "ohlc_data.json",
            "metrics_data.json",
            "depth_data.json",
            "footprint_data.json",
        ] {
            let read = |run: &Run| std::fs::read(run.json_dir.path().join(name)).unwrap();
            assert!(
                read(&parallel) == read(&sequential),
                "{name} differs with --jobs {jobs}:\n{}\nvs sequential:\n{}",
                String::from_utf8_lossy(&read(&parallel)),
                String::from_utf8_lossy(&read(&sequential)),
            );
        }
        let summary = |run: &Run| {
            let mut summary = run.summary();
            summary.as_object_mut().unwrap().remove("elapsed_ms");
            summary
        };
        assert_eq!(summary(&parallel), summary(&sequential), "--jobs {jobs}");
    }
    sequential
}

/// A small deterministic generator, so sizes are arbitrary decimals (their f64 sums depend on
/// the order of the additions).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn size(&mut self) -> String {
        format!("{}.{:08}", self.next() % 5, self.next() % 100_000_000)
    }
    fn price(&mut self) -> u64 {
        100 + self.next() % 20
    }
}

/// Level text of `n` levels from `price` going `step` per level.
fn levels(rng: &mut Lcg, n: usize, price: i64, step: i64) -> String {
    let levels: Vec<String> = (0..n as i64)
        .map(|i| format!("[\"{}\",\"{}\",\"0\",\"1\"]", price + i * step, rng.size()))
        .collect();
    format!("[{}]", levels.join(","))
}

/// How a generated day file starts.
#[derive(Clone, Copy)]
enum Opening {
    /// A snapshot first.
    Snapshot,
    /// Trades and updates (of the carried-over book) before the first snapshot.
    TradesAndUpdatesFirst,
    /// Only updates: the file's book has no snapshot at all.
    NoSnapshot,
}

/// Writes a day file from `from` for `minutes` minutes: a book row every 7 s and two trades
/// per 5 s with arbitrary sizes, starting as `opening` says. Rows go in `id` order of time.
fn day_file(dir: &Path, name: &str, from: i64, minutes: i64, opening: Opening, seed: u64) {
    let mut rng = Lcg(seed);
    let mut sql = String::new();
    let (mut book_id, mut trade_id) = (0, 0);
    let mut book = |sql: &mut String, rng: &mut Lcg, ts: i64, action: &str| {
        book_id += 1;
        let (bids, asks) = if action == "snapshot" {
            (levels(rng, 5, 110, -1), levels(rng, 5, 111, 1))
        } else {
            let bid = 100 + (rng.next() % 12) as i64;
            (levels(rng, 1, bid, -1), levels(rng, 1, bid + 9, 1))
        };
        writeln!(
            sql,
            "INSERT INTO book VALUES ({book_id}, 'BTC-USDT', '{action}', '{bids}', '{asks}', {ts});"
        )
        .unwrap();
    };
    let mut trades = |sql: &mut String, rng: &mut Lcg, ts: i64| {
        for side in ["buy", "sell"] {
            trade_id += 1;
            let (price, size) = (rng.price(), rng.size());
            writeln!(
                sql,
                "INSERT INTO trades VALUES ({trade_id}, 'BTC-USDT', 't{trade_id}', {price}, '{size}', '{side}', {ts});"
            )
            .unwrap();
        }
    };
    match opening {
        Opening::Snapshot => book(&mut sql, &mut rng, from, "snapshot"),
        Opening::TradesAndUpdatesFirst => {
            trades(&mut sql, &mut rng, from);
            book(&mut sql, &mut rng, from + 1, "update");
            trades(&mut sql, &mut rng, from + 2);
            book(&mut sql, &mut rng, from + 3, "snapshot");
        }
        Opening::NoSnapshot => {}
    }
    for second in (5..minutes * 60).step_by(5) {
        let ts = from + second * 1000;
        if second % 7 < 5 {
            book(&mut sql, &mut rng, ts, "update");
        }
        trades(&mut sql, &mut rng, ts + 1);
    }
    recording(dir, name, &sql);
}

/// The first ten minutes of 2025-01-15, opening with a snapshot.
fn ten_minutes_of_the_first_day(dir: &Path) {
    day_file(dir, "BTC-USDT-2025-01-15.db", DAY, 10, Opening::Snapshot, 1);
}

/// Three day files, 20 minutes around each midnight, in the shapes of `openings`.
fn three_days(openings: [Opening; 3]) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    for (day, opening) in openings.into_iter().enumerate() {
        let name = format!("BTC-USDT-2025-01-{}.db", 15 + day);
        let from = DAY + day as i64 * DAYS - 10 * 60_000;
        day_file(
            data.path(),
            &name,
            from.max(DAY),
            20,
            opening,
            day as u64 + 1,
        );
    }
    data
}

#[test]
fn synthetic_days_crossing_midnight() {
    let data = tempfile::tempdir().unwrap();
    let mut config = orderflow::synth::SynthConfig::new(data.path());
    config.start_ms = DAY + DAYS - 3_600_000;
    config.hours = 26.0;
    config.book_interval_ms = 20_000;
    config.trades_per_minute = 20.0;
    config.snapshot_levels = 20;
    orderflow::synth::generate(&config, None).unwrap();
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-17", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.summary()["files"].as_array().unwrap().len(), 3);
}

#[test]
fn trades_and_updates_before_the_next_snapshot_see_the_carried_over_book() {
    use Opening::*;
    let data = three_days([Snapshot, TradesAndUpdatesFirst, TradesAndUpdatesFirst]);
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-17", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    check_same_as_sequential(
        data.path(),
        "2025-01-15",
        "2025-01-17",
        &[
            "--window-seconds",
            "1",
            "--obi-levels",
            "2",
            "--depth-levels",
            "3",
        ],
    );
}

#[test]
fn a_file_whose_book_has_no_snapshot_is_stitched_from_its_prefix() {
    use Opening::*;
    let data = three_days([Snapshot, NoSnapshot, TradesAndUpdatesFirst]);
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-17", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

#[test]
fn a_file_without_an_action_column_starts_with_its_first_book_row() {
    use Opening::*;
    let data = three_days([Snapshot, TradesAndUpdatesFirst, Snapshot]);
    // The middle file again, without the action column: its first book row is the snapshot.
    let path = data.path().join("BTC-USDT-2025-01-16.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE book2 AS SELECT id, instrument, bids, asks, timestamp FROM book;
         DROP TABLE book; ALTER TABLE book2 RENAME TO book;",
    )
    .unwrap();
    drop(db);
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-17", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

#[test]
fn overlapping_files_merge_the_same_windows() {
    let data = tempfile::tempdir().unwrap();
    use Opening::*;
    day_file(data.path(), "BTC-USDT-2025-01-15.db", DAY, 30, Snapshot, 1);
    day_file(
        data.path(),
        "BTC-USDT-2025-01-15_b.db",
        DAY + 600_000,
        30,
        TradesAndUpdatesFirst,
        2,
    );
    day_file(
        data.path(),
        "BTC-USDT-2025-01-15_c.db",
        DAY + 900_000,
        10,
        Snapshot,
        3,
    );
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

#[test]
fn a_range_starting_and_ending_mid_file_warms_up_and_stops() {
    use Opening::*;
    let data = three_days([Snapshot, TradesAndUpdatesFirst, Snapshot]);
    check_same_as_sequential(
        data.path(),
        "2025-01-15T00:04:00Z",
        "2025-01-17T00:03:30Z",
        &[],
    );
    // Starting inside the second file: the first file is warm-up only.
    check_same_as_sequential(
        data.path(),
        "2025-01-16T00:02:00Z",
        "2025-01-17T00:03:30Z",
        &[],
    );
}

#[test]
fn bad_rows_and_an_unusable_file_are_reported_alike() {
    use Opening::*;
    let data = three_days([Snapshot, TradesAndUpdatesFirst, Snapshot]);
    for (day, id) in [(15, 3), (16, 5), (17, 9)] {
        let path = data.path().join(format!("BTC-USDT-2025-01-{day}.db"));
        let db = rusqlite::Connection::open(&path).unwrap();
        // More bad rows of each kind than the summary keeps examples of, in every file.
        db.execute_batch(&format!(
            "UPDATE book SET bids = '[[\"1\"' WHERE id % 4 = {};
             UPDATE trades SET side = 'hold' WHERE id % 5 = {};
             UPDATE trades SET timestamp = NULL WHERE id = {id};",
            id % 4,
            id % 5
        ))
        .unwrap();
    }
    std::fs::write(data.path().join("BTC-USDT-2025-01-18.db"), "not a database").unwrap();
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-18", &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let skipped: &Value = &run.summary()["skipped"];
    assert!(skipped["total"].as_u64().unwrap() > 100, "{skipped}");
}

#[test]
fn a_long_run_of_large_updates_before_the_first_snapshot() {
    let data = tempfile::tempdir().unwrap();
    ten_minutes_of_the_first_day(data.path());
    // 300 updates of 1000 levels a side before the first snapshot, on the carried-over book.
    let mut rng = Lcg(7);
    let mut sql = String::new();
    let from = DAY + DAYS;
    for id in 1..=300 {
        let (bids, asks) = (
            levels(&mut rng, 1000, 5000, -1),
            levels(&mut rng, 1000, 5001, 1),
        );
        writeln!(
            sql,
            "INSERT INTO book VALUES ({id}, 'BTC-USDT', 'update', '{bids}', '{asks}', {});",
            from + id
        )
        .unwrap();
    }
    writeln!(
        sql,
        "INSERT INTO book VALUES (301, 'BTC-USDT', 'snapshot', '[[\"4990\",\"1\"]]', '[[\"5010\",\"2\"]]', {});
         INSERT INTO trades VALUES (1, 'BTC-USDT', 'a', 5000, '0.3', 'buy', {});",
        from + 400,
        from + 500
    )
    .unwrap();
    recording(data.path(), "BTC-USDT-2025-01-16.db", &sql);
    for file in std::fs::read_dir(data.path()).unwrap() {
        age(&file.unwrap().path());
    }
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-16", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}

#[test]
fn one_file_read_on_the_calling_thread_equals_one_read_ahead() {
    // `--jobs 1` reads inline; more jobs read a single file on reading threads.
    let data = tempfile::tempdir().unwrap();
    day_file(
        data.path(),
        "BTC-USDT-2025-01-15.db",
        DAY,
        90,
        Opening::Snapshot,
        5,
    );
    check_same_as_sequential(data.path(), "2025-01-15", "2025-01-15", &[]);
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/binance/usdm");
    let run = |jobs| {
        process(
            &real,
            "BTCUSDT",
            "2024-08-08",
            "2024-08-09",
            &["--jobs", jobs],
        )
    };
    let (inline, ahead) = (run("1"), run("2"));
    for name in ["ohlc_data.json", "metrics_data.json", "depth_data.json"] {
        let read = |run: &Run| std::fs::read(run.json_dir.path().join(name)).unwrap();
        assert!(read(&inline) == read(&ahead), "{name} differs");
    }
}

/// A finished day file of `rows` book rows one second apart (ids with gaps, a second snapshot,
/// bad rows at range boundaries) and a trade between every two of them: large enough that two
/// threads share its book, in ranges of 512 ids.
fn large_book_file(dir: &Path, rows: i64) {
    let mut rng = Lcg(11);
    let mut sql = String::from("BEGIN;");
    let mut id = 0;
    for row in 0..rows {
        // Gaps in the ids: the ranges then hold different numbers of rows.
        id += if row % 1000 == 999 { 300 } else { 1 };
        let ts = DAY + row * 1000;
        let action = if row == 0 || row == rows / 2 {
            "snapshot"
        } else {
            "update"
        };
        let (bids, asks) = if id == 2048 || id == 4096 + 300 {
            ("not levels".to_owned(), "[]".to_owned())
        } else if action == "snapshot" {
            (levels(&mut rng, 20, 110, -1), levels(&mut rng, 20, 111, 1))
        } else {
            let bid = 100 + (rng.next() % 12) as i64;
            (
                levels(&mut rng, 2, bid, -1),
                levels(&mut rng, 2, bid + 9, 1),
            )
        };
        writeln!(
            sql,
            "INSERT INTO book VALUES ({id}, 'BTC-USDT', '{action}', '{bids}', '{asks}', {ts});"
        )
        .unwrap();
        let (price, size) = (rng.price(), rng.size());
        let side = if row % 3 == 0 { "sell" } else { "buy" };
        writeln!(
            sql,
            "INSERT INTO trades VALUES ({row}, 'BTC-USDT', 't{row}', {price}, '{size}', '{side}', {});",
            ts + 500
        )
        .unwrap();
    }
    sql.push_str("COMMIT;");
    age(&recording(dir, "BTC-USDT-2025-01-15.db", &sql));
}

#[test]
fn a_book_read_by_two_threads_equals_one_read_inline() {
    let data = tempfile::tempdir().unwrap();
    large_book_file(data.path(), 12_000);
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.summary()["book_rows"], 11_998, "{}", run.stderr());
    // A range that ends in the middle of a range of ids stops both threads there.
    check_same_as_sequential(
        data.path(),
        "2025-01-15T00:10:00Z",
        "2025-01-15T01:30:00Z",
        &[],
    );
}

/// A finished file of 3,000 book rows whose trade 2500 goes 25 minutes back in time.
fn file_with_a_late_trade() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    large_book_file(data.path(), 3_000);
    let path = data.path().join("BTC-USDT-2025-01-15.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "UPDATE trades SET timestamp = timestamp - 1500000 WHERE id = 2500",
        [],
    )
    .unwrap();
    db.close().unwrap();
    age(&path);
    data
}

#[test]
fn trades_out_of_time_order_by_id_read_ahead_as_inline() {
    // A single finished file read ahead trusts its trades to be in time order by id, and
    // starts over, checking, when one goes back in time: midway, or unread past the range's end.
    let data = file_with_a_late_trade();
    for (end, starts_over) in [
        ("2025-01-15", true),
        ("2025-01-15T00:30:00Z", true),
        // Trade 2500 lies past this end: the order as trusted gives the range's events.
        ("2025-01-15T00:10:00Z", false),
    ] {
        let run = check_same_as_sequential(data.path(), "2025-01-15", end, &[]);
        assert_eq!(run.code(), 0, "{}", run.stderr());
        let ahead = process(data.path(), "BTC-USDT", "2025-01-15", end, &["--jobs", "2"]);
        let said = ahead.stderr().contains("not in time order by id");
        assert_eq!(said, starts_over, "until {end}: {}", ahead.stderr());
    }
}

#[test]
fn a_file_its_worker_gives_up_midway_is_taken_back_and_read_again() {
    // The stitcher, done with a short first day, follows the worker through the long second
    // one; near its end the worker meets a trade back in time and gives the file up: what was
    // stitched of it is taken back, and the file is read as `--jobs 1` reads it.
    let data = tempfile::tempdir().unwrap();
    ten_minutes_of_the_first_day(data.path());
    let second = tempfile::tempdir().unwrap();
    large_book_file(second.path(), 40_000);
    let path = data.path().join("BTC-USDT-2025-01-16.db");
    std::fs::copy(second.path().join("BTC-USDT-2025-01-15.db"), &path).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(&format!(
        "UPDATE book SET timestamp = timestamp + {DAYS};
         UPDATE trades SET timestamp = timestamp + {DAYS};
         UPDATE trades SET timestamp = timestamp - 1500000 WHERE id = 39000;"
    ))
    .unwrap();
    db.close().unwrap();
    age(&path);
    let run = check_same_as_sequential(data.path(), "2025-01-15", "2025-01-16", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let ahead = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-16",
        &["--jobs", "2"],
    );
    let stderr = ahead.stderr();
    assert!(stderr.contains("its worker gave it up midway"), "{stderr}");
    assert!(stderr.contains("not in time order by id"), "{stderr}");
}

#[test]
fn a_file_that_starts_over_resets_the_live_page() {
    use orderflow::engine::ProcessorConfig;
    use orderflow::output::live::{ChangeKind, LiveFeed, Status};
    use orderflow::replay::{self, Job, Speed};

    let data = file_with_a_late_trade();
    let run = |jobs: usize| {
        let job = Job {
            heatmap_ms: None,
            trade_bars: None,
            instrument: "BTC-USDT".to_owned(),
            data_dir: data.path().to_owned(),
            config: ProcessorConfig {
                window_ms: 60_000,
                depth_levels: 5,
                obi_levels: None,
                start: DAY,
                end: DAY + DAYS,
            },
            emit_every: std::time::Duration::ZERO,
            speed: Speed::Max,
            json_dir: None,
            progress: false,
            jobs,
            follow: false,
        };
        let feed = LiveFeed::new(Status::default());
        let mut changes = feed.subscribe();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        replay::run(&job, Some(&feed), &cancel).unwrap();
        let mut resets = 0;
        while let Ok(change) = changes.try_recv() {
            resets += usize::from(matches!(change.kind, ChangeKind::Reset));
        }
        (feed.snapshot(), resets, feed.prints(0.0, None))
    };
    let (inline, inline_resets, inline_prints) = run(1);
    let (ahead, ahead_resets, ahead_prints) = run(2);
    // Both trust the trades' order at full speed, find it wrong, and start the file over.
    assert_eq!((inline_resets, ahead_resets), (1, 1));
    assert_eq!(ahead.bars, inline.bars);
    assert_eq!(ahead.footprints, inline.footprints);
    assert!(!inline_prints.is_empty());
    assert_eq!(ahead_prints, inline_prints, "prints after starting over");
    assert_eq!(ahead.metric_bars, inline.metric_bars);
    assert_eq!(ahead.depth, inline.depth);
}
