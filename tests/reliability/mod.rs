//! Reliability (SPEC 4): bad input never panics and never gives a wrong number silently,
//! outputs are never partial, a live recording reads right, and the server stays bounded.

pub(crate) mod child;
mod corpus;
mod fuzz;
mod hostile_files;
mod knobs;
mod live_recording;
mod outputs;
mod overwrite;
mod server;
mod streams;
mod trust;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// 2025-01-15T00:00:00Z and 2025-01-16T00:00:00Z in ms.
pub const DAY: i64 = 1_736_899_200_000;
pub const DAY16: i64 = DAY + 86_400_000;

/// The good recording's name, and the name of a second candidate beside it.
pub const GOOD: &str = "BTC-USDT-2025-01-15.db";
pub const OTHER: &str = "BTC-USDT-2025-01-16.db";

/// `COMMAND BTC-USDT DAY DAY --data-dir DATA --json-dir OUT`, then `extra`: a run over one day.
pub fn day_run<'a>(
    command: &'a str,
    day: &'a str,
    data: &'a Path,
    out: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        command,
        "BTC-USDT",
        day,
        day,
        "--data-dir",
        data.to_str().unwrap(),
        "--json-dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs SQL statements on the database at `path` (created if needed); `@DAY16` and `@DAY`
/// stand for those times in ms.
pub fn sql(path: &Path, statements: &str) {
    let statements = statements
        .replace("@DAY16", &DAY16.to_string())
        .replace("@DAY", &DAY.to_string());
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(&statements)
        .unwrap_or_else(|error| panic!("{error} in {statements}"));
}

/// The good recording of the 15th: a snapshot (bid 100, ask 101), a buy of 1 at 100.5 and a
/// sell of 2 at 100, all in the first minute: one bar `[DAY, 100.5, 100.5, 100, 100, 3]`.
/// `more` is run on it afterwards.
pub fn good_recording(dir: &Path, name: &str, more: &str) -> PathBuf {
    let path = dir.join(name);
    sql(
        &path,
        &format!(
            "{}
            INSERT INTO book VALUES (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\"]]', '[[\"101\",\"1\"]]', @DAY+1000);
            INSERT INTO trades VALUES (1, 'BTC-USDT', 't1', 100.5, 1, 'buy', @DAY+2000),
                                      (2, 'BTC-USDT', 't2', 100, 2, 'sell', @DAY+3000);
            {more}",
            crate::common::SCHEMA
        ),
    );
    path
}

/// Every regular file under `dir` (links not followed) and its bytes; SQLite's shared-memory
/// index (`-shm`), which a reader may create, is left out.
pub fn inputs(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() && !path.to_string_lossy().ends_with("-shm") {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Input databases are never written (SPEC 4).
pub fn assert_inputs_unchanged(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
) {
    let names = |files: &BTreeMap<PathBuf, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(after),
        names(before),
        "no input file is added or removed"
    );
    for (path, bytes) in before {
        assert!(
            after[path] == *bytes,
            "{} was changed: inputs are opened read-only",
            path.display()
        );
    }
}

/// Trades in [`big_recording`]: one every 10 ms for an hour.
pub const BIG_TRADES: i64 = 360_000;

/// A data folder holding one recording of the first hour of the 16th: a book row every 100 ms
/// (a snapshot first) and a trade every 10 ms. Built once and kept in cargo's temporary folder,
/// because it takes seconds to write.
pub fn big_recording() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-big-v1");
            let path = dir.join(OTHER);
            if !path.exists() {
                std::fs::create_dir_all(&dir).unwrap();
                // Another test process may build it at the same time: build aside, then rename.
                let temp = dir.join(format!(".building-{}", std::process::id()));
                let _ = std::fs::remove_file(&temp);
                write_big_recording(&temp);
                std::fs::rename(&temp, &path).unwrap();
            }
            dir
        })
        .clone()
}

fn write_big_recording(path: &Path) {
    let mut db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(crate::common::SCHEMA).unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut book = tx
            .prepare("INSERT INTO book VALUES (?1, 'BTC-USDT', ?2, ?3, ?4, ?5)")
            .unwrap();
        for i in 0..BIG_TRADES / 10 {
            let action = if i == 0 { "snapshot" } else { "update" };
            let bid = 1000 + i % 20;
            let bids = format!(
                "[[\"{bid}\",\"{}\",\"0\",\"1\"],[\"990\",\"2\",\"0\",\"1\"]]",
                1 + i % 5
            );
            let asks = format!(
                "[[\"{}\",\"{}\",\"0\",\"1\"],[\"1040\",\"2\",\"0\",\"1\"]]",
                bid + 5,
                1 + i % 3
            );
            book.execute(rusqlite::params![
                i + 1,
                action,
                bids,
                asks,
                DAY16 + i * 100
            ])
            .unwrap();
        }
        let mut trades = tx
            .prepare("INSERT INTO trades VALUES (?1, 'BTC-USDT', ?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        for i in 0..BIG_TRADES {
            let side = if i % 3 == 0 { "sell" } else { "buy" };
            let price = 1000.0 + (i % 97) as f64 * 0.5;
            let size = 0.1 + (i % 11) as f64 * 0.01;
            trades
                .execute(rusqlite::params![
                    i + 1,
                    price,
                    size,
                    side,
                    DAY16 + i * 10 + 5
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}
