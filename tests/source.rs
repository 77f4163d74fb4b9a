//! The source part, end to end on SQLite files built in code: discovery (SPEC 1.1), schema and
//! values (1.2 to 1.4), event order (2.1) and bad input (4).

use std::fs;
use std::path::Path;

use orderflow::engine::{BookAction, Event, Side};
use orderflow::source::{
    BadReason, Ending, FileError, FileInfo, Next, ReadMode, Record, Recording, Table, TimeUnit,
    TradeOrder, find_candidates,
};

use crate::common::{Fixture, age};

/// 2024-08-08T23:54:15Z in ms.
const T: i64 = 1_723_161_255_000;
const NO_END: i64 = i64::MAX;

/// The records of a read on threads that checks the trades' order first; a read on the
/// calling thread gives the same records, and a read that trusts the order gives them too, or
/// ends in `TradesOutOfOrder`.
fn read(path: &Path, instrument: &str, end: i64) -> (FileInfo, Vec<Record>) {
    let checked = ReadMode::Threads(TradeOrder::Checked);
    let (info, records) = read_in(path, instrument, end, checked).unwrap();
    let (_, inline) =
        read_in(path, instrument, end, ReadMode::Inline(TradeOrder::Checked)).unwrap();
    assert_eq!(inline, records, "the records read on the calling thread");
    let trusting = [
        ReadMode::Threads(TradeOrder::Trusted),
        ReadMode::Inline(TradeOrder::Trusted),
    ];
    let mut endings = Vec::new();
    for mode in trusting {
        let (_, trusted, ending) = read_ending(path, instrument, end, mode)
            .unwrap_or_else(|other| panic!("the trusting read failed, {mode:?}: {other}"));
        if ending == Ending::Complete {
            assert_eq!(trusted, records, "the records of a trusting read, {mode:?}");
        }
        endings.push(ending);
    }
    assert_eq!(endings[0], endings[1], "both trusting reads end alike");
    (info, records)
}

fn read_in(
    path: &Path,
    instrument: &str,
    end: i64,
    mode: ReadMode,
) -> Result<(FileInfo, Vec<Record>), FileError> {
    let (info, records, ending) = read_ending(path, instrument, end, mode)?;
    assert_eq!(ending, Ending::Complete);
    Ok((info, records))
}

/// The records of a read, and how it ended.
fn read_ending(
    path: &Path,
    instrument: &str,
    end: i64,
    mode: ReadMode,
) -> Result<(FileInfo, Vec<Record>, Ending), FileError> {
    let mut recording = Recording::open(path, instrument).unwrap();
    let info = recording.info().clone();
    let mut reader = recording.read(end, mode).unwrap();
    let mut records = Vec::new();
    let ending = loop {
        match reader.next()? {
            Next::Record(record) => records.push(record),
            Next::End(ending) => break ending,
        }
    };
    assert!(reader.rows_read() >= records.len() as u64);
    Ok((info, records, ending))
}

/// Whether a read that trusts the trades' order finds them out of order.
fn trust_fails(path: &Path, end: i64) -> bool {
    let fails = |mode| match read_ending(path, "X", end, mode) {
        Ok((_, _, ending)) => ending == Ending::TradesOutOfOrder,
        Err(other) => panic!("the trusting read failed: {other}"),
    };
    let threads = fails(ReadMode::Threads(TradeOrder::Trusted));
    assert_eq!(
        threads,
        fails(ReadMode::Inline(TradeOrder::Trusted)),
        "inline and on threads"
    );
    threads
}

/// Records in a compact form: `B1` (book id 1, `S` when a snapshot), `T2`, `!trades 3 reason`.
fn brief(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r {
            Record::Event(Event::Book(b)) => format!(
                "B{}{}",
                b.id,
                if b.action == BookAction::Snapshot {
                    "S"
                } else {
                    ""
                }
            ),
            Record::Event(Event::Trade(t)) => format!("T{}", t.id),
            Record::Bad(bad) => format!("!{} {} {}", bad.table, bad.id, bad.reason.as_str()),
        })
        .collect()
}

fn timestamps(records: &[Record]) -> Vec<i64> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Event(e) => Some(e.ts()),
            Record::Bad(_) => None,
        })
        .collect()
}

const LEVELS: &str = r#"[["100.5","1","0","1"]]"#;

// ---- discovery (SPEC 1.1) ----

#[test]
fn discovery_follows_the_token_rule_and_links_to_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let touch = |name: &str| {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"").unwrap();
    };
    touch("BTC-USDT-2025-01-15.db");
    touch("okx_btc-usdt_20250115.sqlite");
    touch("nested/deeper/BTC-USDT.SQLITE3");
    touch("BTC-USDT-SWAP-2025-01-15.db");
    touch(".BTC-USDT-2025-01-16.db");
    touch("BTC-USDT-2025-01-17.json");
    touch("elsewhere/BTC-USDT-2025-01-18.db");
    fs::create_dir(root.join("BTC-USDT-2025-01-19.db")).unwrap();
    let link =
        |target: &Path, name: &str| std::os::unix::fs::symlink(target, root.join(name)).unwrap();
    link(&root.join("BTC-USDT-2025-01-15.db"), "link BTC-USDT 1.db");
    link(&root.join("missing.db"), "BTC-USDT-dangling-1.db");
    link(&root.join("BTC-USDT-loop-2.db"), "BTC-USDT-loop-2.db");
    fs::create_dir(root.join("linked")).unwrap();
    link(&root.join("elsewhere"), "linked/dir");

    let found = find_candidates(root, "btc-usdt").unwrap();
    let names: Vec<String> = found
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "BTC-USDT-2025-01-15.db",
            "elsewhere/BTC-USDT-2025-01-18.db",
            "link BTC-USDT 1.db",
            "nested/deeper/BTC-USDT.SQLITE3",
            "okx_btc-usdt_20250115.sqlite",
        ]
    );
}

#[test]
fn discovery_errors_name_the_directory_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let message = find_candidates(&missing, "BTC-USDT")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("nope") && message.contains("--data-dir"),
        "{message}"
    );
    let file = dir.path().join("file");
    fs::write(&file, b"").unwrap();
    let message = find_candidates(&file, "BTC-USDT").unwrap_err().to_string();
    assert!(message.contains("not a directory"), "{message}");
}

// ---- level text and values (SPEC 1.2, 1.3) ----

#[test]
fn both_level_notations_blobs_and_empty_sides() {
    let f = Fixture::new("r.db")
        .standard()
        .book(
            1,
            T,
            "snapshot",
            r#"[["41006.8","0.6","0","1"]]"#,
            "[['41007', '1.5'], ('41008', 2,)]",
        )
        .book(2, T + 1, "update", "", "[]")
        .row(
            "book",
            "id, timestamp, bids",
            &[&3, &(T + 2), &br#"[["1","0"]]"#.to_vec()],
        )
        .done();
    let (_, records) = read(&f.path, "X", NO_END);
    let books: Vec<_> = records
        .iter()
        .map(|r| match r {
            Record::Event(Event::Book(b)) => b.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let pairs = |levels: &[orderflow::engine::Level]| -> Vec<(f64, f64)> {
        levels.iter().map(|l| (l.price, l.size)).collect()
    };
    assert_eq!(pairs(&books[0].bids), [(41006.8, 0.6)]);
    assert_eq!(pairs(&books[0].asks), [(41007.0, 1.5), (41008.0, 2.0)]);
    assert!(books[1].bids.is_empty() && books[1].asks.is_empty());
    assert_eq!(pairs(&books[2].bids), [(1.0, 0.0)]);
    assert!(books[2].asks.is_empty(), "NULL asks");
    assert_eq!(books[2].action, BookAction::Update, "NULL action");
}

#[test]
fn trade_values_may_be_integer_real_or_numeric_text() {
    let f = Fixture::new("r.db")
        .sql("CREATE TABLE trades (id INTEGER PRIMARY KEY, ts INTEGER, price, size, side TEXT)")
        .row(
            "trades",
            "id, ts, price, size, side",
            &[&1, &T, &100, &"0.5", &" BUY "],
        )
        .row(
            "trades",
            "id, ts, price, size, side",
            &[&2, &T, &" 1e2 ", &2.5, &"Sell"],
        )
        .done();
    let (info, records) = read(&f.path, "X", NO_END);
    assert!(!info.has_book && info.warnings.iter().any(|w| w.contains("no `book` table")));
    let trades: Vec<_> = records
        .iter()
        .map(|r| match r {
            Record::Event(Event::Trade(t)) => (t.price, t.size, t.side),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(trades, [(100.0, 0.5, Side::Buy), (100.0, 2.5, Side::Sell)]);
}

// ---- timestamps (SPEC 1.4) ----

#[test]
fn units_are_found_and_converted_with_floor() {
    let cases: [(&str, rusqlite::types::Value, i64, Option<TimeUnit>); 6] = [
        ("s", (T / 1000).into(), T, Some(TimeUnit::Seconds)),
        ("ms", (T + 7).into(), T + 7, Some(TimeUnit::Millis)),
        (
            "us",
            ((T + 7) * 1000 + 999).into(),
            T + 7,
            Some(TimeUnit::Micros),
        ),
        (
            "ns",
            ((T + 7) * 1_000_000 + 999_999).into(),
            T + 7,
            Some(TimeUnit::Nanos),
        ),
        (
            "real s",
            (T as f64 / 1000.0 + 0.25).into(),
            T + 250,
            Some(TimeUnit::Seconds),
        ),
        (
            "real ms",
            (T as f64 + 0.9).into(),
            T,
            Some(TimeUnit::Millis),
        ),
    ];
    for (name, raw, ms, unit) in cases {
        let f = Fixture::new("r.db")
            .standard()
            .row(
                "trades",
                "id, timestamp, price, size, side",
                &[&1, &raw, &1.0, &1.0, &"buy"],
            )
            .done();
        let (info, records) = read(&f.path, "X", NO_END);
        assert_eq!(info.trades_unit, unit, "{name}");
        assert_eq!(timestamps(&records), [ms], "{name}");
        assert_eq!(info.range, Some((ms, ms)), "{name}");
        // The conversion is named once, in the summary's unit conversions, not as a warning.
        let file = orderflow::replay::summary::FileSummary::from_info(
            &info,
            orderflow::replay::summary::FileStatus::Used,
        );
        let converted = file
            .unit_conversions
            .iter()
            .any(|w| w.contains("converted to ms"));
        assert_eq!(
            converted,
            unit != Some(TimeUnit::Millis),
            "{name}: {:?}",
            file.unit_conversions
        );
        assert!(
            !info.warnings.iter().any(|w| w.contains("converted")),
            "{name}: {:?}",
            info.warnings
        );
    }
}

#[test]
fn the_first_plausible_timestamp_decides_the_unit() {
    // Row 1 is implausible in every unit; row 2 is in seconds; row 3 (ms) is then out of range.
    // The valid rows are in time order, so rows come by id, bad ones where they lie.
    let f = Fixture::new("r.db")
        .standard()
        .trade(1, 12345, 1.0, 1.0, "buy")
        .trade(2, T / 1000, 1.0, 1.0, "buy")
        .trade(3, T + 5, 1.0, 1.0, "buy")
        .trade(4, T / 1000 + 1, 1.0, 1.0, "buy")
        .done();
    let (info, records) = read(&f.path, "X", NO_END);
    assert_eq!(info.trades_unit, Some(TimeUnit::Seconds));
    assert_eq!(info.range, Some((T, T + 1000)));
    assert_eq!(
        brief(&records),
        [
            "!trades 1 invalid_timestamp",
            "T2",
            "!trades 3 invalid_timestamp",
            "T4"
        ]
    );
}

// ---- instrument filter ----

#[test]
fn only_rows_of_the_instrument_are_read() {
    let f = Fixture::new("r.db")
        .sql(
            "CREATE TABLE book (id INTEGER PRIMARY KEY, instId TEXT, ts INTEGER, bids TEXT, asks TEXT);
             CREATE TABLE trades (id INTEGER PRIMARY KEY, SYMBOL TEXT, timestamp INTEGER, price REAL, size REAL, side TEXT);",
        )
        .row("book", "id, instId, ts, bids, asks", &[&1, &"ETH-USDT", &(T - 5000), &LEVELS, &""])
        .row("book", "id, instId, ts, bids, asks", &[&2, &"btc-usdt", &T, &LEVELS, &""])
        .row("book", "id, instId, ts, bids, asks", &[&3, &"BTC-USDT", &(T + 10), &LEVELS, &""])
        .row("book", "id, instId, ts, bids, asks", &[&4, &"ETH-USDT", &(T + 9000), &LEVELS, &""])
        .row("trades", "id, symbol, timestamp, price, size, side", &[&1, &"BTC-USDT", &(T + 5), &1.0, &1.0, &"buy"])
        .row("trades", "id, symbol, timestamp, price, size, side", &[&2, &"ETH-USDT", &(T + 6), &1.0, &1.0, &"buy"])
        .done();
    let (info, records) = read(&f.path, "BTC-USDT", NO_END);
    assert_eq!(info.range, Some((T, T + 10)));
    assert_eq!(info.first_ts, Some(T));
    assert_eq!(brief(&records), ["B2S", "T1", "B3"]);
}

/// Rows written before `ALTER TABLE … ADD COLUMN` hold no value for the column, and SQLite
/// gives them its default: the table's pages (read directly where they can be, `pages.rs`)
/// leave such rows to SQLite, and every trade of the instrument is read.
#[test]
fn rows_older_than_an_added_instrument_column_take_its_default() {
    let mut f = Fixture::new("r.db").sql(
        "CREATE TABLE trades (id INTEGER PRIMARY KEY, timestamp INTEGER, price REAL, size REAL, side TEXT);
         BEGIN;",
    );
    for id in 1..=3000 {
        f = f.row(
            "trades",
            "id, timestamp, price, size, side",
            &[&id, &(T + id), &100, &1.0, &"buy"],
        );
    }
    f = f.sql("COMMIT; ALTER TABLE trades ADD COLUMN instId TEXT DEFAULT 'BTC-USDT'; BEGIN;");
    for id in 3001..=6000 {
        let instrument = if id % 2 == 0 { "BTC-USDT" } else { "ETH-USDT" };
        f = f.row(
            "trades",
            "id, timestamp, price, size, side, instId",
            &[&id, &(T + id), &100.5, &1.0, &"sell", &instrument],
        );
    }
    let f = f.sql("COMMIT").done();
    let (_, records) = read(&f.path, "BTC-USDT", NO_END);
    assert_eq!(records.len(), 4500);
    let ids: Vec<i64> = records.iter().map(Record::id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids[2999..3002], [3000, 3002, 3004]);
    // An integer in a REAL column is a real, as SQLite reads it.
    assert!(matches!(&records[0], Record::Event(Event::Trade(t)) if t.price == 100.0));
}

// ---- book actions ----

#[test]
fn action_column_decides_snapshots() {
    let mut f = Fixture::new("r.db").standard();
    for (id, action) in [
        (1, "update"),
        (2, " Snap Shot"),
        (3, "PARTIAL"),
        (4, "delta"),
    ] {
        f = f.book(id, T + id, action, LEVELS, LEVELS);
    }
    let f = f.done();
    let (_, records) = read(&f.path, "X", NO_END);
    assert_eq!(brief(&records), ["B1", "B2S", "B3S", "B4"]);
}

#[test]
fn without_action_column_the_first_valid_row_is_the_snapshot() {
    let f = Fixture::new("r.db")
        .sql("CREATE TABLE book (id INTEGER PRIMARY KEY, timestamp INTEGER, bids TEXT, asks TEXT)")
        .row("book", "id, timestamp, bids, asks", &[&1, &T, &"[[", &""])
        .row("book", "id, timestamp, bids, asks", &[&2, &T, &LEVELS, &""])
        .row("book", "id, timestamp, bids, asks", &[&3, &T, &LEVELS, &""])
        .done();
    let (info, records) = read(&f.path, "X", NO_END);
    assert!(
        info.warnings
            .iter()
            .any(|w| w.contains("no `trades` table"))
    );
    assert_eq!(
        brief(&records),
        ["!book 1 unparsable_level_text", "B2S", "B3"]
    );
}

// ---- bad rows (SPEC 4) ----

#[test]
fn every_bad_row_reason() {
    let f = Fixture::new("r.db")
        .standard()
        .book(1, T, "snapshot", LEVELS, LEVELS)
        .book(2, T, "update", "[[1, 2]", "")
        .book(3, T, "update", "", "[['0', '1']]")
        .row(
            "book",
            "id, timestamp, bids, asks",
            &[&4, &"2024-08-08 23:54:15", &LEVELS, &""],
        )
        .row(
            "book",
            "id, timestamp, bids, asks",
            &[&5, &rusqlite::types::Null, &LEVELS, &""],
        )
        .book(6, 4_102_444_800_000, "update", "", "")
        .row("book", "id, timestamp, bids, asks", &[&7, &T, &42, &""])
        .trade(1, T, 0.0, 1.0, "buy")
        .trade(2, T, 1e16, 1.0, "buy")
        .trade(3, T, 1.0, 0.0, "buy")
        .trade(4, T, 1.0, -1.0, "buy")
        .trade(5, T, 1.0, 1.0, "short")
        .row(
            "trades",
            "id, timestamp, price, size, side",
            &[&6, &T, &"nan", &1.0, &"buy"],
        )
        .row(
            "trades",
            "id, timestamp, price, size, side",
            &[&7, &T, &1.0, &"1_000", &"buy"],
        )
        .row(
            "trades",
            "id, timestamp, price, size, side",
            &[&8, &T, &1.0, &1.0, &rusqlite::types::Null],
        )
        .row(
            "trades",
            "id, timestamp, price, size, side",
            &[&9, &"1723161255000 ms", &1.0, &1.0, &"buy"],
        )
        .done();
    let (_, records) = read(&f.path, "X", NO_END);
    let bad: Vec<(Table, i64, BadReason)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Bad(b) => {
                assert!(!b.detail.is_empty() && b.detail.len() <= 100, "{b:?}");
                Some((b.table, b.id, b.reason))
            }
            Record::Event(_) => None,
        })
        .collect();
    use BadReason::*;
    use Table::*;
    let mut expected = vec![
        (Book, 2, LevelText),
        (Book, 3, InvalidLevel),
        (Book, 4, Timestamp),
        (Book, 5, Timestamp),
        (Book, 6, Timestamp),
        (Book, 7, LevelText),
        (Trades, 1, TradePrice),
        (Trades, 2, TradePrice),
        (Trades, 3, TradeSize),
        (Trades, 4, TradeSize),
        (Trades, 5, TradeSide),
        (Trades, 6, TradePrice),
        (Trades, 7, TradeSize),
        (Trades, 8, TradeSide),
        (Trades, 9, Timestamp),
    ];
    let mut got = bad.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(
        brief(&records)
            .iter()
            .filter(|r| !r.starts_with('!'))
            .count(),
        1
    );
}

// ---- unusable files ----

#[test]
fn unusable_files_say_what_where_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("BTC-USDT-1.db");
    fs::write(&text, vec![b'x'; 4096]).unwrap();
    age(&text);
    let error = Recording::open(&text, "BTC-USDT").err().unwrap();
    assert!(matches!(error, FileError::NotSqlite { .. }), "{error:?}");
    assert!(error.to_string().contains("BTC-USDT-1.db"));

    let f = Fixture::new("none.db")
        .sql("CREATE TABLE other (id INTEGER)")
        .done();
    let error = Recording::open(&f.path, "X").err().unwrap();
    assert!(matches!(error, FileError::NoTables { .. }), "{error}");

    let f = Fixture::new("cols.db")
        .sql("CREATE TABLE book (id INTEGER PRIMARY KEY, time INTEGER, bids TEXT, asks TEXT)")
        .done();
    let message = Recording::open(&f.path, "X").err().unwrap().to_string();
    assert!(
        message.contains("cols.db")
            && message.contains("`book`")
            && message.contains("`timestamp` (or `ts`)"),
        "{message}"
    );

    let error = Recording::open(&dir.path().join("absent.db"), "X")
        .err()
        .unwrap();
    assert!(matches!(error, FileError::CannotOpen { .. }), "{error:?}");
}

#[test]
fn a_hot_journal_is_reported_not_rolled_back() {
    let f = Fixture::new("hot.db")
        .standard()
        .trade(1, T, 1.0, 1.0, "buy");
    let copy = f.dir.path().join("copy.db");
    {
        // A write interrupted midway: copy the file and its journal while the transaction is open.
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1; BEGIN;")
            .unwrap();
        for i in 2..2000 {
            conn.execute(
                "INSERT INTO trades (id, timestamp, price, size, side) VALUES (?1, ?2, 1.0, 1.0, 'buy')",
                rusqlite::params![i, T],
            )
            .unwrap();
        }
        fs::copy(&f.path, &copy).unwrap();
        fs::copy(
            f.path.with_file_name("hot.db-journal"),
            f.dir.path().join("copy.db-journal"),
        )
        .unwrap();
    }
    let before = fs::read(&copy).unwrap();
    let error = Recording::open(&copy, "X").err().unwrap();
    assert!(matches!(error, FileError::HotJournal { .. }), "{error:?}");
    assert_eq!(fs::read(&copy).unwrap(), before, "the input was written to");
}

/// Overwrites the page in the middle of the file (in the book table, which fills most of it)
/// with garbage, and makes the file look finished again.
fn smash_middle_page(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let page = 4096;
    let middle = (bytes.len() / page / 2) * page;
    bytes[middle..middle + page].fill(0xA5);
    fs::write(path, &bytes).unwrap();
    age(path);
}

#[test]
fn corruption_midway_keeps_what_was_read() {
    let mut f = Fixture::new("c.db").standard();
    let big = format!("[{}]", vec![r#"["100.5","1"]"#; 60].join(","));
    for id in 1..=400 {
        f = f.book(id, T + id, "update", &big, "");
    }
    let f = f.done();
    smash_middle_page(&f.path);

    let mut recording = Recording::open(&f.path, "X").unwrap();
    let mut stream = recording
        .read(NO_END, ReadMode::Threads(TradeOrder::Checked))
        .unwrap();
    let mut good = 0;
    let error = loop {
        match stream.next() {
            Ok(Next::Record(Record::Event(_))) => good += 1,
            Ok(Next::Record(Record::Bad(b))) => panic!("{b:?}"),
            Ok(Next::End(_)) => panic!("no error after {good} rows"),
            Err(e) => break e,
        }
    };
    assert!(good > 10, "{good}");
    assert!(matches!(error, FileError::Corrupt { .. }), "{error:?}");
    assert_eq!(stream.next().unwrap(), Next::End(Ending::Complete));
}

#[test]
fn corruption_midway_in_a_book_read_by_two_threads_reads_as_on_one() {
    // 3,000 book rows span enough ids for two threads to share the book of this
    // file, in ranges of ids taken from a queue (`stream.rs`).
    let mut f = Fixture::new("c2.db").standard().sql("BEGIN");
    let text = format!("[{}]", [r#"["100.5","1"]"#; 12].join(","));
    for id in 1..=3000 {
        f = f.book(id, T + id, "update", &text, "");
        if id % 10 == 0 {
            f = f.trade(id, T + id, 1.0, 1.0, "buy");
        }
    }
    let f = f.sql("COMMIT").done();
    smash_middle_page(&f.path);

    let mut recording = Recording::open(&f.path, "X").unwrap();
    let mut read = |mode| {
        let mut records = Vec::new();
        let mut stream = recording.read(NO_END, mode).unwrap();
        let error = loop {
            match stream.next() {
                Ok(Next::Record(record)) => records.push(record),
                Ok(Next::End(_)) => break None,
                Err(e) => break Some(e),
            }
        };
        (records, error)
    };
    let (threaded, threaded_error) = read(ReadMode::Threads(TradeOrder::Checked));
    let (inline, inline_error) = read(ReadMode::Inline(TradeOrder::Checked));
    assert!(inline.len() > 100, "{}", inline.len());
    assert_eq!(brief(&threaded), brief(&inline));
    assert!(
        matches!(threaded_error, Some(FileError::Corrupt { .. })),
        "{threaded_error:?}"
    );
    assert!(
        matches!(inline_error, Some(FileError::Corrupt { .. })),
        "{inline_error:?}"
    );
}

// ---- event order (SPEC 2.1) ----

#[test]
fn merge_puts_book_first_on_ties_and_trades_at_both_ends() {
    let f = Fixture::new("r.db")
        .standard()
        .trade(1, T - 10, 1.0, 1.0, "buy")
        .book(1, T, "snapshot", LEVELS, LEVELS)
        .trade(2, T, 1.0, 1.0, "buy")
        .trade(3, T + 5, 1.0, 1.0, "sell")
        .book(2, T + 5, "update", LEVELS, "")
        .book(3, T + 5, "update", LEVELS, "")
        .trade(4, T + 7, 1.0, 1.0, "buy")
        .trade(5, T + 100, 1.0, 1.0, "buy")
        .done();
    let (info, records) = read(&f.path, "X", NO_END);
    assert_eq!(info.range, Some((T - 10, T + 100)));
    assert_eq!(info.first_ts, Some(T));
    assert_eq!(info.rows_estimate, 8);
    assert_eq!(
        brief(&records),
        ["T1", "B1S", "T2", "B2", "B3", "T3", "T4", "T5"]
    );
}

/// Ids at both ends of the integer range are rows like any other: every read (inline, on
/// threads, trusting, sorted) resumes after a key, and must neither skip `i64::MIN` nor wrap
/// past `i64::MAX`.
#[test]
fn ids_at_both_ends_of_the_integer_range_are_read() {
    let f = Fixture::new("r.db")
        .standard()
        .book(i64::MIN, T, "snapshot", LEVELS, LEVELS)
        .book(0, T + 5, "update", LEVELS, "")
        .book(i64::MAX, T + 9, "update", LEVELS, "")
        .trade(i64::MIN, T + 1, 1.0, 1.0, "buy")
        .trade(i64::MAX, T + 7, 1.0, 1.0, "sell")
        .done();
    let (_, records) = read(&f.path, "X", NO_END);
    assert_eq!(records.len(), 5, "{:?}", brief(&records));
    let (_, sorted) = read_in(&f.path, "X", NO_END, ReadMode::Threads(TradeOrder::Sorted)).unwrap();
    assert_eq!(sorted, records);

    // Ids far apart: no split of the book into ranges of ids that cover nothing.
    let f = Fixture::new("sparse.db")
        .standard()
        .book(1, T, "snapshot", LEVELS, LEVELS)
        .book(1_000_000_000_000_000, T + 5, "update", LEVELS, "")
        .trade(7, T + 1, 1.0, 1.0, "buy")
        .done();
    let (_, records) = read(&f.path, "X", NO_END);
    assert_eq!(brief(&records), ["B1S", "T7", "B1000000000000000"]);
}

#[test]
fn unsorted_trades_come_in_time_then_id_order() {
    let f = Fixture::new("r.db")
        .standard()
        .book(1, T, "snapshot", LEVELS, LEVELS)
        .book(2, T + 50, "update", LEVELS, "")
        .trade(1, T + 60, 1.0, 1.0, "buy")
        .trade(2, T + 10, 1.0, 1.0, "buy")
        .trade(3, T - 5, 1.0, 1.0, "buy")
        .trade(4, T + 10, 1.0, 1.0, "buy")
        .trade(5, T + 50, 1.0, 1.0, "buy")
        .done();
    let (_, records) = read(&f.path, "X", NO_END);
    assert_eq!(brief(&records), ["T3", "B1S", "T2", "T4", "B2", "T5", "T1"]);
    assert!(trust_fails(&f.path, NO_END));
    let (_, sorted) = read_in(&f.path, "X", NO_END, ReadMode::Threads(TradeOrder::Sorted)).unwrap();
    assert_eq!(sorted, records);
}

#[test]
fn trades_without_a_rowid_id_are_checked_even_when_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(&format!(
        "CREATE TABLE trades (id INTEGER, instrument TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);
         INSERT INTO trades VALUES (1, 'X', 1.0, 1.0, 'buy', {});
         INSERT INTO trades VALUES (2, 'X', 1.0, 1.0, 'buy', {});",
        T + 10,
        T + 5,
    ))
    .unwrap();
    db.close().unwrap();
    age(&path);
    assert!(!trust_fails(&path, NO_END));
    let (_, records) = read(&path, "X", NO_END);
    assert_eq!(brief(&records), ["T2", "T1"]);
}

#[test]
fn trusting_the_trades_order_checks_what_the_range_leaves_unread() {
    // In order up to the end of the range; trade 3 goes back in time, but is it in the range?
    let file = |late_ts: i64| {
        Fixture::new("r.db")
            .standard()
            .book(1, T, "snapshot", LEVELS, LEVELS)
            .trade(1, T + 10, 1.0, 1.0, "buy")
            .trade(2, T + 100, 1.0, 1.0, "buy")
            .trade(3, late_ts, 1.0, 1.0, "buy")
            .done()
    };
    let inside = file(T + 20);
    assert!(trust_fails(&inside.path, T + 50));
    let (_, records) = read(&inside.path, "X", T + 50);
    assert_eq!(brief(&records), ["B1S", "T1", "T3"]);

    let outside = file(T + 60);
    assert!(!trust_fails(&outside.path, T + 50));
    let (_, records) = read(&outside.path, "X", T + 50);
    assert_eq!(brief(&records), ["B1S", "T1"]);
    // The whole table, trade 3 included, goes back in time.
    assert!(trust_fails(&outside.path, NO_END));
}

#[test]
fn unsorted_trades_in_microseconds_sort_by_floored_ms_then_id() {
    let us = |ms: i64, rest: i64| (T + ms) * 1000 + rest;
    let f = Fixture::new("r.db")
        .standard()
        .trade(1, us(2, 0), 1.0, 1.0, "buy")
        .trade(2, us(1, 900), 1.0, 1.0, "buy")
        .trade(3, us(1, 100), 1.0, 1.0, "buy")
        .done();
    let (_, records) = read(&f.path, "X", NO_END);
    assert_eq!(brief(&records), ["T2", "T3", "T1"]);
}

#[test]
fn reading_stops_at_the_first_event_at_or_after_the_end() {
    let f = Fixture::new("r.db")
        .standard()
        .book(1, T, "snapshot", LEVELS, LEVELS)
        .trade(1, T + 5, 1.0, 1.0, "buy")
        .book(2, T + 10, "update", "[[", "")
        .book(3, T + 10, "update", LEVELS, "")
        .trade(2, T + 10, 1.0, 1.0, "buy")
        .book(4, T + 8, "update", LEVELS, "")
        .done();
    let (_, records) = read(&f.path, "X", T + 10);
    // Book 2 is bad and past the end: not reported; book 3 stops the stream.
    assert_eq!(brief(&records), ["B1S", "T1"]);
    let (_, records) = read(&f.path, "X", T + 11);
    assert_eq!(
        brief(&records),
        [
            "B1S",
            "!book 2 unparsable_level_text",
            "T1",
            "B3",
            "B4",
            "T2"
        ]
    );
}

#[test]
fn a_bad_book_row_takes_no_place_in_the_order() {
    // Book 2 cannot be parsed and carries a later timestamp: it is skipped, so it must not hold
    // back book 3 until the trades before its timestamp have gone (found by the SPEC oracle).
    let f = Fixture::new("r.db")
        .standard()
        .book(1, T, "snapshot", LEVELS, LEVELS)
        .book(2, T + 1000, "update", "[[", "")
        .book(3, T + 10, "update", LEVELS, "")
        .trade(1, T + 20, 1.0, 1.0, "buy")
        .done();
    let (_, records) = read(&f.path, "X", NO_END);
    assert_eq!(
        brief(&records),
        ["B1S", "!book 2 unparsable_level_text", "B3", "T1"]
    );
}

// ---- the real recordings ----

#[test]
fn real_recordings_range_and_counts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/binance");
    let found = find_candidates(&root, "BTCUSDT").unwrap();
    assert_eq!(found.len(), 2);
    let cases = [
        (
            &found[0],
            (1_723_161_255_342, 1_723_161_601_271),
            3450,
            9757,
        ),
        (
            &found[1],
            (1_723_161_256_322, 1_723_161_601_105),
            6548,
            21313,
        ),
    ];
    for (path, range, books, trades) in cases {
        let (info, records) = read(path, "BTCUSDT", NO_END);
        assert_eq!(info.range, Some(range), "{}", path.display());
        assert_eq!(info.book_unit, Some(TimeUnit::Millis));
        assert!(info.warnings.is_empty(), "{:?}", info.warnings);
        let count = |book: bool| {
            records
                .iter()
                .filter(|r| matches!(r, Record::Event(Event::Book(_))) == book)
                .count()
        };
        assert_eq!(
            (count(true), count(false)),
            (books, trades),
            "{}",
            path.display()
        );
        let ts = timestamps(&records);
        assert_eq!(ts.first(), Some(&range.0));
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "merged events in time order"
        );
        let (_, head) = read(path, "BTCUSDT", 1_723_161_600_000);
        assert!(timestamps(&head).iter().all(|&t| t < 1_723_161_600_000));
    }
}
