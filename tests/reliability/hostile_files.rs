//! Files traders really have that gave wrong numbers with exit 0, or hung the run (issue 12):
//! a recording behind a symbolic link whose journal or WAL lies beside the target, text ids,
//! an endless view, and trades whose ends by `id` lie outside the range they cover.

use std::path::Path;
use std::time::{Duration, Instant};

use super::child::Child;
use super::{DAY, GOOD, OTHER, assert_inputs_unchanged, day_run, good_recording, inputs, sql};
use crate::common::{SCHEMA, age, process, read_json};

#[cfg(unix)]
fn link(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// A recording whose prices a crashed writer multiplied by 1000: the changed pages are in the
/// file, the journal that undoes them beside it (a hot journal), as a power cut leaves them.
fn crashed_write(dir: &Path) -> std::path::PathBuf {
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let path = good_recording(&scratch, GOOD, "");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1; BEGIN;
         UPDATE trades SET price = price * 1000;",
    )
    .unwrap();
    // Spill the change into the file itself: more rows than the one-page cache holds.
    for i in 10..3000 {
        conn.execute(
            "INSERT INTO trades (id, instrument, trade_id, price, size, side, timestamp) \
             VALUES (?1, 'BTC-USDT', 'x', 1, 1, 'buy', ?2)",
            rusqlite::params![i, DAY + 10_000],
        )
        .unwrap();
    }
    let real = dir.join("real");
    std::fs::create_dir_all(&real).unwrap();
    let target = real.join(GOOD);
    std::fs::copy(&path, &target).unwrap();
    std::fs::copy(
        scratch.join(format!("{GOOD}-journal")),
        real.join(format!("{GOOD}-journal")),
    )
    .unwrap();
    drop(conn);
    // Quiet for a minute: before, such a file was opened immutable, its journal unseen.
    age(&target);
    target
}

#[cfg(unix)]
#[test]
fn a_linked_recording_with_a_hot_journal_beside_its_target_is_refused_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let target = crashed_write(dir.path());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    link(&target, &data.join(GOOD));
    let before = inputs(&dir.path().join("real"));

    let run = process(&data, "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    let text = run.stderr();
    // Read through the link without its journal, every price came out 1000 times too high.
    assert_eq!(run.code(), 2, "the only file is unusable: {text}");
    assert!(
        text.contains(GOOD) && text.contains("hot journal"),
        "names the file and the journal: {text}"
    );
    assert_eq!(
        read_json(run.json_dir.path(), "ohlc_data.json"),
        serde_json::json!([])
    );
    assert_inputs_unchanged(&before, &inputs(&dir.path().join("real")));
}

#[cfg(unix)]
#[test]
fn a_linked_recording_whose_rows_are_in_a_wal_beside_its_target_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir_all(&real).unwrap();
    let target = real.join(GOOD);
    // A recorder in WAL mode that has not checkpointed: the trades are only in the `-wal`.
    let recorder = rusqlite::Connection::open(&target).unwrap();
    recorder
        .execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;")
        .unwrap();
    recorder.execute_batch(SCHEMA).unwrap();
    recorder
        .execute_batch(
            &"INSERT INTO book VALUES (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\"]]', '[[\"101\",\"1\"]]', @DAY+1000);"
                .replace("@DAY", &DAY.to_string()),
        )
        .unwrap();
    let tx = recorder.unchecked_transaction().unwrap();
    for i in 0..6000_i64 {
        tx.execute(
            "INSERT INTO trades (instrument, trade_id, price, size, side, timestamp) \
             VALUES ('BTC-USDT', ?1, 100.5, 1, 'buy', ?2)",
            rusqlite::params![i, DAY + 2000 + i * 100],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    // Quiet for a minute: before, such a file was opened immutable, its WAL unseen.
    age(&target);
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    link(&target, &data.join(GOOD));

    let run = process(&data, "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    drop(recorder);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.summary()["trades"], 6000, "{}", run.stderr());
    let bars = read_json(run.json_dir.path(), "ohlc_data.json");
    assert_eq!(
        bars.as_array().unwrap().len(),
        11,
        "6000 trades, 100 ms apart from 2 s on"
    );
}

#[test]
fn text_ids_make_the_table_unusable_never_ordered_as_text() {
    let data = tempfile::tempdir().unwrap();
    // Ordered as text, '10' comes before '9': the book's update at 10 would be applied
    // before the one at 9.
    let mut rows = String::new();
    for id in 1..=12 {
        let action = if id == 1 { "snapshot" } else { "update" };
        rows.push_str(&format!(
            "INSERT INTO book VALUES ('{id}', 'BTC-USDT', '{action}', '[[\"100\",\"{id}\"]]', '[[\"101\",\"1\"]]', {});",
            DAY + id * 1000
        ));
    }
    sql(
        &data.path().join(GOOD),
        &format!(
            "CREATE TABLE book (id TEXT, instrument TEXT, action TEXT, bids TEXT, asks TEXT, timestamp INTEGER);
             CREATE TABLE trades (id INTEGER PRIMARY KEY, instrument TEXT, trade_id TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);
             INSERT INTO trades VALUES (1, 'BTC-USDT', 't', 100.5, 1, 'buy', @DAY+500);
             {rows}"
        ),
    );
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    let text = run.stderr();
    assert_eq!(run.code(), 2, "the only file is unusable: {text}");
    assert!(
        text.contains(GOOD)
            && text.contains("`book`")
            && text.contains("`id`")
            && text.contains("integer"),
        "names the file, the table and the column: {text}"
    );

    // Beside a good file, the run goes on and says a file was unusable.
    good_recording(data.path(), OTHER, "");
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-16", &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
}

/// A `trades` view that never ends: `WITH RECURSIVE` without a bound.
const ENDLESS: &str = "
    CREATE TABLE book (id INTEGER PRIMARY KEY, instrument TEXT, action TEXT, bids TEXT, asks TEXT, timestamp INTEGER);
    CREATE VIEW trades AS
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
        SELECT i AS id, 'BTC-USDT' AS instrument, 't' AS trade_id, 100.0 AS price,
               1.0 AS size, 'buy' AS side, @DAY + 1000 AS timestamp
        FROM n WHERE i < 0;";

#[test]
fn an_endless_view_is_given_up_and_the_other_files_are_processed() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    sql(&data.path().join(OTHER), ENDLESS);
    let started = Instant::now();
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-16",
        &["--stall-seconds", "2"],
    );
    let took = started.elapsed();
    let text = run.stderr();
    assert_eq!(run.code(), 1, "{text}");
    assert!(
        text.contains(OTHER) && text.contains("no answer within 2 s"),
        "names the file and says what happened: {text}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let bars = read_json(run.json_dir.path(), "ohlc_data.json");
    assert_eq!(
        bars.as_array().unwrap().len(),
        1,
        "the good file was processed"
    );
}

#[test]
fn ctrl_c_stops_a_run_stuck_in_an_endless_view() {
    let data = tempfile::tempdir().unwrap();
    sql(&data.path().join(OTHER), ENDLESS);
    let out = tempfile::tempdir().unwrap();
    let mut child = Child::spawn(&day_run(
        "process",
        "2025-01-16",
        data.path(),
        out.path(),
        &[],
    ));
    std::thread::sleep(Duration::from_millis(1500));
    let interrupted = Instant::now();
    child.interrupt();
    child.wait(Duration::from_secs(20));
    assert!(
        interrupted.elapsed() < Duration::from_secs(5),
        "the first Ctrl-C stops it: {:?}\n{}",
        interrupted.elapsed(),
        child.text()
    );
}

#[test]
fn trades_whose_ends_by_id_lie_outside_the_range_are_still_read() {
    let data = tempfile::tempdir().unwrap();
    // The first and last trades by id are on the 17th; the one between, on the 15th, is the
    // range's only data. Before, the file was declared out of range from its ends by id.
    sql(
        &data.path().join("BTC-USDT-2025-01-17.db"),
        &format!(
            "{SCHEMA}
            INSERT INTO trades VALUES (1, 'BTC-USDT', 't1', 100, 1, 'buy', @DAY16+86400000),
                                      (2, 'BTC-USDT', 't2', 101, 2, 'sell', @DAY+60000),
                                      (3, 'BTC-USDT', 't3', 102, 1, 'buy', @DAY16+90000000);"
        ),
    );
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        read_json(run.json_dir.path(), "ohlc_data.json"),
        serde_json::json!([[DAY + 60_000, 101.0, 101.0, 101.0, 101.0, 2.0]])
    );
}
