//! The recordings read back with a small independent book rebuild: schema, naming, level text,
//! never-crossed books, trades at the touch, the day split and determinism.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::Connection;

use super::*;

/// A short recording with a small book, quick enough for a debug build.
fn config(dir: &Path, start: &str, hours: f64) -> SynthConfig {
    let mut c = SynthConfig::new(dir);
    c.start_ms = crate::time::parse_bound(start, crate::time::Bound::Start).unwrap();
    c.hours = hours;
    c.snapshot_levels = 60;
    c.seed = 7;
    c
}

/// One book row as read back.
struct Row {
    action: String,
    bids: Vec<Vec<String>>,
    asks: Vec<Vec<String>>,
    ts: i64,
}

struct TradeRow {
    trade_id: String,
    price: f64,
    size: f64,
    side: String,
    ts: i64,
}

fn book_rows(path: &Path) -> Vec<Row> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT instrument, action, bids, asks, timestamp FROM book ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        let instrument: String = r.get(0)?;
        assert_eq!(instrument, "BTC-USDT");
        let bids: String = r.get(2)?;
        let asks: String = r.get(3)?;
        Ok(Row {
            action: r.get(1)?,
            bids: serde_json::from_str(&bids).expect("bids parse as a list of string lists"),
            asks: serde_json::from_str(&asks).expect("asks parse as a list of string lists"),
            ts: r.get(4)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn trade_rows(path: &Path) -> Vec<TradeRow> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT trade_id, price, size, side, timestamp FROM trades ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok(TradeRow {
            trade_id: r.get(0)?,
            price: r.get(1)?,
            size: r.get(2)?,
            side: r.get(3)?,
            ts: r.get(4)?,
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Price text → integer units of 10^-8, the book key (exact for any tick we write).
fn price_key(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    assert!(frac.len() <= 8, "price {text}");
    let frac = format!("{frac:0<8}");
    int.parse::<i64>().unwrap() * 100_000_000 + frac.parse::<i64>().unwrap()
}

/// A book rebuilt from the rows: price key → (price text, size).
struct Book {
    /// One tick in key units.
    tick: i64,
    bids: BTreeMap<i64, (String, f64)>,
    asks: BTreeMap<i64, (String, f64)>,
}

impl Book {
    fn apply(&mut self, row: &Row) {
        if row.action == "snapshot" {
            self.bids.clear();
            self.asks.clear();
        } else {
            assert_eq!(row.action, "update");
        }
        for (side, levels) in [(&mut self.bids, &row.bids), (&mut self.asks, &row.asks)] {
            for level in levels {
                assert_eq!(level.len(), 4, "{level:?}");
                assert_eq!(level[2], "0");
                let size: f64 = level[1].parse().unwrap();
                let orders: u32 = level[3].parse().unwrap();
                assert!(size >= 0.0 && size.is_finite());
                if size == 0.0 {
                    assert_eq!(row.action, "update", "a snapshot holds no empty level");
                    assert_eq!(orders, 0);
                    side.remove(&price_key(&level[0]));
                } else {
                    assert!(orders >= 1);
                    let price = price_key(&level[0]);
                    assert_eq!(price % self.tick, 0, "price on the tick grid: {level:?}");
                    side.insert(price_key(&level[0]), (level[0].clone(), size));
                }
            }
        }
    }

    fn best_bid(&self) -> &(String, f64) {
        self.bids.values().next_back().expect("bids")
    }

    fn best_ask(&self) -> &(String, f64) {
        self.asks.values().next().expect("asks")
    }

    fn assert_not_crossed(&self) {
        let bid = self.bids.keys().next_back().expect("bids");
        let ask = self.asks.keys().next().expect("asks");
        assert!(
            ask - bid >= self.tick,
            "crossed or locked book: bid {bid} ask {ask}"
        );
    }
}

/// Replays every file in order (the book carries over, as SPEC 2.2 says) and checks the book
/// after each row and every trade against it. Returns (book rows, trades).
fn check_files(paths: &[PathBuf], tick_size: f64) -> (usize, usize) {
    let mut book = Book {
        tick: (tick_size * 1e8).round() as i64,
        bids: BTreeMap::new(),
        asks: BTreeMap::new(),
    };
    let (mut rows_seen, mut trades_seen) = (0, 0);
    let mut last_trade_id = 0u64;
    for path in paths {
        let rows = book_rows(path);
        let trades = trade_rows(path);
        assert_eq!(
            rows[0].action,
            "snapshot",
            "{} starts with a snapshot",
            path.display()
        );
        assert!(rows[1..].iter().all(|r| r.action == "update"));
        let mut next_trade = trades.iter().peekable();
        for (i, row) in rows.iter().enumerate() {
            book.apply(row);
            book.assert_not_crossed();
            let next_ts = rows.get(i + 1).map_or(i64::MAX, |r| r.ts);
            assert!(next_ts > row.ts);
            // SPEC 2.1: the trades of [row.ts, next.ts) follow this row.
            while let Some(trade) = next_trade.next_if(|t| t.ts < next_ts) {
                assert!(trade.ts >= row.ts, "trade before the first book row");
                let (text, size) = match trade.side.as_str() {
                    "buy" => book.best_ask(),
                    "sell" => book.best_bid(),
                    other => panic!("side {other}"),
                };
                assert_eq!(
                    trade.price,
                    text.parse::<f64>().unwrap(),
                    "trade at the touch"
                );
                assert!(
                    trade.size > 0.0 && trade.size <= *size + 1e-9,
                    "trade within the level"
                );
                let id: u64 = trade.trade_id.parse().unwrap();
                assert!(id > last_trade_id, "trade ids increase");
                last_trade_id = id;
                trades_seen += 1;
            }
        }
        assert!(next_trade.next().is_none(), "every trade is checked");
        rows_seen += rows.len();
    }
    (rows_seen, trades_seen)
}

#[test]
fn files_are_named_by_instrument_and_day_with_the_recorder_schema() {
    let dir = tempfile::tempdir().unwrap();
    let report = generate(&config(dir.path(), "2025-01-15T10:00:00Z", 0.01), None).unwrap();
    assert_eq!(report.files.len(), 1);
    assert_eq!(
        report.files[0].path,
        dir.path().join("BTC-USDT-2025-01-15.db")
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["BTC-USDT-2025-01-15.db"],
        "no temporary file is left behind"
    );

    let conn = Connection::open(&report.files[0].path).unwrap();
    let columns = |table: &str| -> Vec<(String, String, bool)> {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get::<_, i64>(5)? == 1)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let owned = |cols: &[(&str, &str, bool)]| -> Vec<(String, String, bool)> {
        cols.iter()
            .map(|(n, t, pk)| (n.to_string(), t.to_string(), *pk))
            .collect()
    };
    assert_eq!(
        columns("book"),
        owned(&[
            ("id", "INTEGER", true),
            ("instrument", "TEXT", false),
            ("action", "TEXT", false),
            ("bids", "TEXT", false),
            ("asks", "TEXT", false),
            ("timestamp", "INTEGER", false),
            ("seqId", "INTEGER", false),
            ("prevSeqId", "INTEGER", false),
        ])
    );
    assert_eq!(
        columns("trades"),
        owned(&[
            ("id", "INTEGER", true),
            ("instrument", "TEXT", false),
            ("trade_id", "TEXT", false),
            ("price", "REAL", false),
            ("size", "REAL", false),
            ("side", "TEXT", false),
            ("timestamp", "INTEGER", false),
        ])
    );
    // Stored types are what the schema says, row by row.
    let types: (String, String, String) = conn
        .query_row(
            "SELECT typeof(bids), typeof(timestamp), typeof(action) FROM book LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(types, ("text".into(), "integer".into(), "text".into()));
    let types: (String, String, String) = conn
        .query_row(
            "SELECT typeof(trade_id), typeof(price), typeof(size) FROM trades LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(types, ("text".into(), "real".into(), "real".into()));
}

#[test]
fn rows_parse_books_never_cross_and_trades_are_at_the_touch() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "2025-01-15T10:00:00Z", 0.05);
    let report = generate(&c, None).unwrap();
    let paths: Vec<PathBuf> = report.files.iter().map(|f| f.path.clone()).collect();
    let (rows, trades) = check_files(&paths, 0.1);
    assert_eq!(rows, 1_800, "one row every 100 ms for 3 minutes");
    assert_eq!(rows as u64, report.book_rows);
    assert_eq!(trades as u64, report.trades);
    // About 1,200 trades a minute: a loose band, since bursts come and go.
    assert!(
        (1_000..=8_000).contains(&trades),
        "{trades} trades in 3 minutes"
    );

    let rows = book_rows(&paths[0]);
    assert_eq!(rows[0].ts, c.start_ms);
    assert!(rows.windows(2).all(|w| w[1].ts - w[0].ts == 100));
    assert_eq!(rows[0].bids.len(), 60);
    assert_eq!(rows[0].asks.len(), 60);
    // Updates change a handful of levels, mostly near the top.
    let changed: usize = rows[1..].iter().map(|r| r.bids.len() + r.asks.len()).sum();
    let mean = changed as f64 / (rows.len() - 1) as f64;
    assert!((3.0..=60.0).contains(&mean), "{mean} levels per update");
}

#[test]
fn the_default_snapshot_has_400_levels_a_side_in_okx_notation() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = SynthConfig::new(dir.path());
    c.hours = 1.0 / 3600.0;
    let report = generate(&c, None).unwrap();
    assert_eq!(report.book_rows, 10);
    let rows = book_rows(&report.files[0].path);
    assert_eq!(rows[0].action, "snapshot");
    assert_eq!((rows[0].bids.len(), rows[0].asks.len()), (400, 400));
    // Bids best first (descending), asks best first (ascending).
    let keys = |levels: &[Vec<String>]| levels.iter().map(|l| price_key(&l[0])).collect::<Vec<_>>();
    assert!(keys(&rows[0].bids).windows(2).all(|w| w[0] > w[1]));
    assert!(keys(&rows[0].asks).windows(2).all(|w| w[0] < w[1]));
    for level in rows[0].bids.iter().chain(&rows[0].asks) {
        assert_eq!(
            level[0].split_once('.').unwrap().1.len(),
            1,
            "tick 0.1: {level:?}"
        );
        assert_eq!(
            level[1].split_once('.').unwrap().1.len(),
            8,
            "8 size decimals: {level:?}"
        );
    }
    let mid = (price_key(&rows[0].bids[0][0]) + price_key(&rows[0].asks[0][0])) as f64 / 2e8;
    assert!(
        (mid - 96_000.0).abs() < 1.0,
        "starts at the start price: {mid}"
    );
}

#[test]
fn a_range_across_midnight_is_split_into_two_day_files_at_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "2025-01-15T23:58:30Z", 0.05);
    let report = generate(&c, None).unwrap();
    let names: Vec<_> = report
        .files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["BTC-USDT-2025-01-15.db", "BTC-USDT-2025-01-16.db"]);
    let midnight = crate::time::parse_bound("2025-01-16", crate::time::Bound::Start).unwrap();

    let day1 = book_rows(&report.files[0].path);
    let day2 = book_rows(&report.files[1].path);
    assert_eq!(day1.last().unwrap().ts, midnight - 100);
    assert_eq!(day2[0].ts, midnight);
    assert_eq!(day2[0].action, "snapshot");
    assert_eq!(day1.len() + day2.len(), 1_800);
    assert!(
        trade_rows(&report.files[0].path)
            .iter()
            .all(|t| t.ts < midnight)
    );
    assert!(
        trade_rows(&report.files[1].path)
            .iter()
            .all(|t| t.ts >= midnight)
    );
    let paths: Vec<PathBuf> = report.files.iter().map(|f| f.path.clone()).collect();
    check_files(&paths, 0.1);
}

#[test]
fn an_unaligned_start_still_splits_at_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), "2025-01-15T23:59:59.950Z", 0.001);
    c.book_interval_ms = 100;
    let report = generate(&c, None).unwrap();
    let midnight = crate::time::parse_bound("2025-01-16", crate::time::Bound::Start).unwrap();
    assert_eq!(report.files.len(), 2);
    assert!(
        trade_rows(&report.files[0].path)
            .iter()
            .all(|t| t.ts < midnight)
    );
    assert_eq!(book_rows(&report.files[1].path)[0].ts, midnight + 50);
    let paths: Vec<PathBuf> = report.files.iter().map(|f| f.path.clone()).collect();
    check_files(&paths, 0.1);
}

#[test]
fn the_same_options_give_the_same_bytes_and_another_seed_does_not() {
    let (a, b, other) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let start = "2025-01-15T23:59:00Z";
    let ra = generate(&config(a.path(), start, 0.03), None).unwrap();
    let rb = generate(&config(b.path(), start, 0.03), None).unwrap();
    let mut c = config(other.path(), start, 0.03);
    c.seed = 8;
    let rc = generate(&c, None).unwrap();
    assert_eq!(ra.files.len(), 2);
    for ((fa, fb), fc) in ra.files.iter().zip(&rb.files).zip(&rc.files) {
        let bytes = std::fs::read(&fa.path).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(&fb.path).unwrap(),
            "{}",
            fa.path.display()
        );
        assert_ne!(bytes, std::fs::read(&fc.path).unwrap());
    }
}

/// SPEC 4: synth never overwrites an existing file; it refuses before writing anything.
#[test]
fn rerunning_refuses_to_replace_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "2025-01-15T23:59:00Z", 0.03);
    let first = generate(&c, None).unwrap();
    assert_eq!(first.files.len(), 2);
    assert_eq!(
        day_files(&c).unwrap(),
        first
            .files
            .iter()
            .map(|f| f.path.clone())
            .collect::<Vec<_>>()
    );
    std::fs::remove_file(&first.files[0].path).unwrap();
    let second = std::fs::read(&first.files[1].path).unwrap();
    let err = generate(&c, None).unwrap_err();
    assert!(
        matches!(&err, SynthError::Exists { path } if *path == first.files[1].path),
        "{err}"
    );
    assert_eq!(second, std::fs::read(&first.files[1].path).unwrap());
    assert!(
        !first.files[0].path.exists(),
        "nothing is written when one file exists"
    );
}

#[test]
fn options_out_of_range_are_refused_with_the_option_named() {
    let dir = tempfile::tempdir().unwrap();
    type Change = fn(&mut SynthConfig);
    let cases: [(&str, Change); 8] = [
        ("--hours", |c| c.hours = 0.0),
        ("--hours", |c| c.hours = f64::NAN),
        ("--instrument", |c| c.instrument = "BTC/USDT".into()),
        ("--tick-size", |c| c.tick_size = 0.0),
        ("--tick-size", |c| c.tick_size = 1e-12),
        ("--start-price", |c| c.start_price = 10.0),
        ("--levels", |c| c.snapshot_levels = 0),
        ("--start", |c| c.start_ms = 0),
    ];
    for (option, change) in cases {
        let mut c = SynthConfig::new(dir.path());
        change(&mut c);
        let err = generate(&c, None).unwrap_err();
        assert!(err.to_string().contains(option), "{option}: {err}");
    }
}

#[test]
fn other_tick_sizes_and_decimals_are_written_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), "2025-01-15T10:00:00Z", 0.002);
    c.instrument = "ETH-USDT".into();
    c.tick_size = 0.01;
    c.start_price = 3_300.0;
    c.size_decimals = 6;
    let report = generate(&c, None).unwrap();
    let conn = Connection::open(&report.files[0].path).unwrap();
    let bids: String = conn
        .query_row("SELECT bids FROM book WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    let levels: Vec<Vec<String>> = serde_json::from_str(&bids).unwrap();
    for level in &levels {
        assert_eq!(level[0].split_once('.').unwrap().1.len(), 2, "{level:?}");
        assert_eq!(level[1].split_once('.').unwrap().1.len(), 6, "{level:?}");
    }
}

#[test]
fn extreme_options_still_give_uncrossed_books_and_trades_at_the_touch() {
    type Change = fn(&mut SynthConfig);
    let cases: [(&str, Change); 4] = [
        ("one level a side, heavy flow", |c| {
            c.snapshot_levels = 1;
            c.trades_per_minute = 20_000.0;
        }),
        ("wild volatility", |c| c.daily_volatility = 1.0),
        ("slow book, busy tape", |c| {
            c.book_interval_ms = 1_000;
            c.trades_per_minute = 10_000.0;
        }),
        ("coarse ticks, few decimals", |c| {
            c.tick_size = 5.0;
            c.size_decimals = 0;
            c.start_price = 50_000.0;
        }),
    ];
    for (name, change) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path(), "2025-01-15T10:00:00Z", 0.02);
        change(&mut c);
        let report = generate(&c, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let paths: Vec<PathBuf> = report.files.iter().map(|f| f.path.clone()).collect();
        let (_, trades) = check_files(&paths, c.tick_size);
        assert!(trades > 0, "{name}");
    }
}

/// `(action, seqId, prevSeqId)` of each book row, in id order.
fn seq_rows(path: &Path) -> Vec<(String, i64, i64)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT action, seqId, prevSeqId FROM book ORDER BY id")
        .unwrap();
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn messages_are_numbered_in_a_chain_that_drops_break() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir.path().join("whole"), "2025-01-15", 0.05);
    c.snapshot_every_ms = Some(60_000);
    let whole = generate(&c, None).unwrap();
    let rows = seq_rows(&whole.files[0].path);
    assert_eq!(rows[0].0, "snapshot");
    let mut snapshots = 0;
    for pair in rows.windows(2) {
        let ((_, seq, _), (action, next_seq, prev)) = (&pair[0], &pair[1]);
        assert!(next_seq > seq);
        if action == "snapshot" {
            snapshots += 1;
            assert_eq!(*prev, -1);
        } else {
            assert_eq!(prev, seq, "an unbroken chain");
        }
    }
    assert_eq!(snapshots, 2, "one a minute after the first, in 3 minutes");

    c.out_dir = dir.path().join("lossy");
    c.drop_rate = 0.1;
    let lossy = generate(&c, None).unwrap();
    let lost = seq_rows(&lossy.files[0].path);
    let gaps = lost
        .windows(2)
        .filter(|pair| pair[1].0 == "update" && pair[1].2 != pair[0].1)
        .count();
    assert!(
        lost.len() < rows.len() && gaps > 0,
        "{} of {}",
        lost.len(),
        rows.len()
    );
    assert_eq!(
        lossy.trades, whole.trades,
        "lost book messages change nothing else"
    );
}
