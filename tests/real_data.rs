//! The real Binance recordings of `tests/data`: the rebuilt book against the exchange's own
//! best bid/offer, and bars and CVD against plain SQL over `trades`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use orderflow::engine::{BookAction, Event, OrderBook};
use orderflow::source::{Next, ReadMode, Record, Recording, TradeOrder};

use crate::common::process;

/// 2024-08-08T00:00:00Z and the midnight after it, in ms.
const START: i64 = 1_723_075_200_000;
const END: i64 = 1_723_161_600_000;

fn data_dir(market: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/binance")
        .join(market)
}

fn recording_path(market: &str) -> PathBuf {
    data_dir(market).join(format!("binance-{market}-BTCUSDT-2024-08-08.db"))
}

/// After every book row listed in `bbo_truth`, the book's best bid and ask are the exchange's.
fn check_bbo_truth(market: &str) {
    let path = recording_path(market);
    let db =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut statement = db
        .prepare("SELECT book_id, best_bid, best_ask FROM bbo_truth")
        .unwrap();
    let truth: HashMap<i64, (f64, f64)> = statement
        .query_map([], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        truth.len() > 500,
        "{market}: bbo_truth has {} rows",
        truth.len()
    );

    let mut recording = Recording::open(&path, "BTCUSDT").unwrap();
    let mut events = recording
        .read(i64::MAX, ReadMode::Threads(TradeOrder::Checked))
        .unwrap();
    let mut book = OrderBook::default();
    let mut checked = 0;
    while let Next::Record(record) = events.next().unwrap() {
        let Record::Event(Event::Book(row)) = record else {
            assert!(
                !matches!(record, Record::Bad(_)),
                "{market}: no row of the recording is bad: {record:?}"
            );
            continue;
        };
        match row.action {
            BookAction::Snapshot => book.apply_snapshot(&row.bids, &row.asks),
            BookAction::Update => book.apply_update(&row.bids, &row.asks),
        }
        if let Some(&(bid, ask)) = truth.get(&row.id) {
            let best = (
                book.best_bid().map(|l| l.price),
                book.best_ask().map(|l| l.price),
            );
            assert_eq!(
                best,
                (Some(bid), Some(ask)),
                "{market}: best bid/ask after book row {}",
                row.id
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        truth.len(),
        "{market}: every bbo_truth row was reached"
    );
}

#[test]
fn spot_book_matches_the_exchange_best_bid_and_offer() {
    check_bbo_truth("spot");
}

#[test]
fn usdm_book_matches_the_exchange_best_bid_and_offer() {
    check_bbo_truth("usdm");
}

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// OHLC and CVD of `process` on the day equal plain SQL over `trades`.
fn check_bars_against_sql(market: &str) {
    let run = process(
        &data_dir(market),
        "BTCUSDT",
        "2024-08-08",
        "2024-08-08",
        &[],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let db = rusqlite::Connection::open_with_flags(
        recording_path(market),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let in_range = format!("timestamp >= {START} AND timestamp < {END}");
    let sql = format!(
        "WITH t AS (SELECT id, price, size, side, timestamp, timestamp / 60000 * 60000 AS w FROM trades WHERE {in_range})
         SELECT w,
                (SELECT price FROM t AS f WHERE f.w = t.w ORDER BY timestamp, id LIMIT 1),
                max(price), min(price),
                (SELECT price FROM t AS l WHERE l.w = t.w ORDER BY timestamp DESC, id DESC LIMIT 1),
                sum(size),
                (SELECT sum(CASE WHEN side = 'buy' THEN size ELSE -size END) FROM trades
                  WHERE {in_range} AND timestamp < t.w + 60000)
         FROM t GROUP BY w ORDER BY w"
    );
    let mut statement = db.prepare(&sql).unwrap();
    let expected: Vec<[f64; 7]> = statement
        .query_map([], |row| {
            let ts: i64 = row.get(0)?;
            Ok([
                ts as f64,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ])
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(expected.len() >= 5, "{market}: {} windows", expected.len());

    let ohlc = run.json("ohlc_data.json");
    let bars = ohlc.as_array().unwrap();
    assert_eq!(
        bars.len(),
        expected.len(),
        "{market}: one bar per window with trades"
    );
    let metrics = run.json("metrics_data.json");
    let cvd_close: HashMap<i64, f64> = metrics
        .as_array()
        .unwrap()
        .iter()
        .map(|bar| (bar[0].as_i64().unwrap(), bar[8].as_f64().unwrap()))
        .collect();
    for (bar, sql) in bars.iter().zip(&expected) {
        let bar: Vec<f64> = bar
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for column in 0..6 {
            assert!(
                close_to(bar[column], sql[column]),
                "{market}: bar {bar:?} column {column} vs SQL {sql:?}"
            );
        }
        let cvd = cvd_close[&(sql[0] as i64)];
        assert!(
            close_to(cvd, sql[6]),
            "{market}: CVD at the close of {} is {cvd}, SQL says {}",
            sql[0],
            sql[6]
        );
    }
}

#[test]
fn spot_bars_and_cvd_equal_sql() {
    check_bars_against_sql("spot");
}

#[test]
fn usdm_bars_and_cvd_equal_sql() {
    check_bars_against_sql("usdm");
}

#[test]
fn both_recordings_together_are_used_with_an_overlap_warning() {
    let run = process(&data_dir(""), "BTCUSDT", "2024-08-08", "2024-08-09", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let summary = run.summary();
    let files = summary["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    for file in files {
        let warnings: Vec<&str> = file["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert!(warnings.iter().any(|w| w.contains("overlap")), "{file}");
    }
}
