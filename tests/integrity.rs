//! Integrity of the book (SPEC 10.2): the message chain `seqId`/`prevSeqId` of each file and
//! crossed books, counted over the rows in range, with the first examples, in the summary.

use std::fmt::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::process;
use crate::parallel::check_same_as_sequential;

/// 2025-01-15T00:00:00Z in ms.
const DAY: i64 = 1_736_899_200_000;

/// A book row: `(id, seconds after DAY, action, bid, ask, seqId, prevSeqId)`; the book has
/// one level a side, bid and ask as given.
type Row = (i64, i64, &'static str, i64, i64, i64, i64);

const SCHEMA: &str = "
    CREATE TABLE book (id INTEGER PRIMARY KEY, instrument TEXT, action TEXT, bids TEXT, asks TEXT, timestamp INTEGER, seqId INTEGER, prevSeqId INTEGER);
    CREATE TABLE trades (id INTEGER PRIMARY KEY, instrument TEXT, trade_id TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);";

/// SQL inserting `rows` of `instrument`, and a trade per row (so every row has company).
fn inserts(instrument: &str, rows: &[Row]) -> String {
    let mut sql = String::new();
    for &(id, second, action, bid, ask, seq, prev) in rows {
        let ts = DAY + second * 1000;
        // An update sets the new best levels and removes the old ones far away.
        writeln!(
            sql,
            "INSERT INTO book VALUES ({id}, '{instrument}', '{action}', '[[\"{bid}\",\"1\"]]', '[[\"{ask}\",\"1\"]]', {ts}, {seq}, {prev});
             INSERT INTO trades VALUES ({id}, '{instrument}', 't{id}', {bid}, 0.5, 'buy', {});",
            ts + 1
        )
        .unwrap();
    }
    sql
}

fn write(dir: &Path, name: &str, sql: &str) {
    let db = rusqlite::Connection::open(dir.join(name)).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(sql).unwrap();
}

/// Runs `process` over the day with `--jobs 1`, 2 and 3 (which must agree) and gives the
/// summary's `integrity`.
fn integrity_of(dir: &Path, start: &str) -> Value {
    let run = check_same_as_sequential(dir, start, "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    run.summary()["integrity"].clone()
}

/// The examples as `(row_id, kind)`.
fn examples(integrity: &Value) -> Vec<(i64, String)> {
    integrity["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row_id"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn counts(integrity: &Value) -> [u64; 4] {
    ["gaps", "resets", "heartbeats", "crossed"].map(|key| integrity[key].as_u64().unwrap())
}

#[test]
fn chain_start_continue_and_heartbeat() {
    let data = tempfile::tempdir().unwrap();
    let rows = [
        // The first row of the file starts the chain whatever its prevSeqId.
        (1, 10, "update", 100, 101, 50, 7),
        (2, 20, "update", 100, 101, 51, 50),
        (3, 30, "update", 100, 101, 51, 51),
        (4, 40, "update", 99, 102, 52, 51),
    ];
    write(
        data.path(),
        "BTC-USDT-2025-01-15.db",
        &inserts("BTC-USDT", &rows),
    );
    let integrity = integrity_of(data.path(), "2025-01-15");
    assert_eq!(counts(&integrity), [0, 0, 1, 0]);
    assert_eq!(examples(&integrity), [(3, "heartbeat".to_owned())]);
    let file = integrity["examples"][0]["file"].as_str().unwrap();
    assert!(file.ends_with("BTC-USDT-2025-01-15.db"), "{file}");
}

#[test]
fn reset_gap_and_gap_then_snapshot() {
    let data = tempfile::tempdir().unwrap();
    let rows = [
        (1, 10, "snapshot", 100, 101, 10, -1),
        // Renumbered: a reset, and the chain goes on from it.
        (2, 20, "update", 100, 101, 3, 10),
        (3, 30, "update", 100, 101, 4, 3),
        // 5 is lost: a gap; the chain goes on from 6.
        (4, 40, "update", 100, 101, 6, 5),
        (5, 50, "update", 100, 101, 7, 6),
        // A snapshot makes the book certain again; prevSeqId -1 starts a chain too.
        (6, 60, "snapshot", 100, 101, 100, 90),
        (7, 70, "update", 100, 101, 200, -1),
        (8, 80, "update", 100, 101, 202, 201),
    ];
    write(
        data.path(),
        "BTC-USDT-2025-01-15.db",
        &inserts("BTC-USDT", &rows),
    );
    let integrity = integrity_of(data.path(), "2025-01-15");
    assert_eq!(counts(&integrity), [2, 1, 0, 0]);
    assert_eq!(
        examples(&integrity),
        [
            (2, "reset".to_owned()),
            (4, "gap".to_owned()),
            (8, "gap".to_owned())
        ]
    );
}

#[test]
fn crossed_books_are_counted_per_row() {
    let data = tempfile::tempdir().unwrap();
    let rows = [
        (1, 10, "snapshot", 100, 101, 1, -1),
        // The bid rises to the ask: crossed (the old levels stay, the best are the new ones).
        (2, 20, "update", 101, 102, 2, 1),
        (3, 30, "update", 103, 104, 3, 2),
    ];
    write(
        data.path(),
        "BTC-USDT-2025-01-15.db",
        &inserts("BTC-USDT", &rows),
    );
    let integrity = integrity_of(data.path(), "2025-01-15");
    assert_eq!(counts(&integrity), [0, 0, 0, 2]);
    assert_eq!(
        examples(&integrity),
        [(2, "crossed".to_owned()), (3, "crossed".to_owned())]
    );
}

#[test]
fn two_instruments_in_one_file_have_a_chain_each() {
    let data = tempfile::tempdir().unwrap();
    let btc = [
        (1, 10, "snapshot", 100, 101, 10, -1),
        (3, 20, "update", 100, 101, 11, 10),
        (5, 30, "update", 100, 101, 13, 12),
    ];
    let eth = [
        (2, 10, "snapshot", 10, 11, 500, -1),
        (4, 20, "update", 10, 11, 501, 500),
        (6, 30, "update", 10, 11, 502, 501),
    ];
    // One file, both instruments interleaved by id (a file name holds one instrument, so
    // the same file goes by two names).
    let mut sql = inserts("BTC-USDT", &btc);
    sql.push_str(&inserts("ETH-USDT", &eth));
    write(data.path(), "BTC-USDT-2025-01-15.db", &sql);
    std::fs::hard_link(
        data.path().join("BTC-USDT-2025-01-15.db"),
        data.path().join("ETH-USDT-2025-01-15.db"),
    )
    .unwrap();
    let integrity = integrity_of(data.path(), "2025-01-15");
    assert_eq!(counts(&integrity), [1, 0, 0, 0], "{integrity}");
    assert_eq!(examples(&integrity), [(5, "gap".to_owned())]);
    let eth = process(data.path(), "ETH-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(eth.code(), 0, "{}", eth.stderr());
    assert_eq!(counts(&eth.summary()["integrity"]), [0, 0, 0, 0]);
}

#[test]
fn the_chain_runs_through_warm_up_and_bad_rows_but_counts_only_in_range() {
    let data = tempfile::tempdir().unwrap();
    let mut sql = inserts(
        "BTC-USDT",
        &[
            (1, -20, "snapshot", 100, 101, 1, -1),
            // Warm-up: a gap before the range is not counted.
            (2, -10, "update", 100, 101, 5, 3),
            // In range: continues the warm-up row.
            (3, 10, "update", 100, 101, 6, 5),
            (5, 30, "update", 100, 101, 8, 7),
        ],
    );
    // Row 4 (seqId 7) is bad: not a valid row, so row 5 shows a gap.
    sql.push_str(&format!(
        "INSERT INTO book VALUES (4, 'BTC-USDT', 'update', 'not levels', '[]', {}, 7, 6);",
        DAY + 20_000
    ));
    write(data.path(), "BTC-USDT-2025-01-14.db", &sql);
    let integrity = integrity_of(data.path(), "2025-01-15");
    assert_eq!(counts(&integrity), [1, 0, 0, 0]);
    assert_eq!(examples(&integrity), [(5, "gap".to_owned())]);
}

#[test]
fn without_the_columns_only_crossed_books_are_found() {
    let data = tempfile::tempdir().unwrap();
    crate::common::recording(
        data.path(),
        "BTC-USDT-2025-01-15.db",
        &format!(
            "INSERT INTO book VALUES (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\"]]', '[[\"100\",\"1\"]]', {DAY});
             INSERT INTO trades VALUES (1, 'BTC-USDT', 't1', 100, 1, 'buy', {DAY});"
        ),
    );
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let integrity = &run.summary()["integrity"];
    assert_eq!(
        integrity,
        &json!({"gaps": 0, "resets": 0, "heartbeats": 0, "crossed": 1,
                "examples": [{"file": integrity["examples"][0]["file"], "row_id": 1, "kind": "crossed"}]})
    );
    let printed = String::from_utf8_lossy(&run.output.stdout);
    assert!(
        printed.contains("book integrity: 0 gaps, 0 resets, 0 heartbeats, 1 crossed"),
        "{printed}"
    );
}

#[test]
fn files_each_start_a_chain_and_jobs_agree() {
    let data = tempfile::tempdir().unwrap();
    for (day, file) in ["14", "15"].into_iter().enumerate() {
        let base = day as i64 * 86_400 - 86_400;
        let seq = 1000 * day as i64;
        let rows = [
            (1, base + 10, "snapshot", 100, 101, seq, -1),
            (2, base + 20, "update", 100, 101, seq + 1, seq),
            (3, base + 30, "update", 100, 101, seq + 3, seq + 2),
            (4, base + 40, "update", 101, 101, seq + 4, seq + 3),
            (5, base + 50, "update", 100, 102, seq + 3, seq + 4),
        ];
        write(
            data.path(),
            &format!("BTC-USDT-2025-01-{file}.db"),
            &inserts("BTC-USDT", &rows),
        );
    }
    let run = check_same_as_sequential(data.path(), "2025-01-14", "2025-01-15", &[]);
    let integrity = &run.summary()["integrity"];
    // Per file: a gap (row 3), a crossed book (row 4, and row 5 whose old bid 101 stays),
    // a reset (row 5).
    assert_eq!(counts(integrity), [2, 2, 0, 4], "{integrity}");
}
