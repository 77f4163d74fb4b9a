//! The bad-input corpus (SPEC 4): every case is built here, run through `orderflow process`,
//! and held to its exact outcome: exit status, what the output names, what was still processed.
//!
//! Every case also checks what holds for all of them: no panic, every JSON file that exists
//! parses, and no input file was changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{DAY, DAY16, GOOD, OTHER, assert_inputs_unchanged, good_recording, inputs, sql};
use crate::common::{assert_json_eq, orderflow};

/// One run of `orderflow process` on a data folder built for it, and what must come out.
struct Case {
    /// The good recording of the 15th ([`good_recording`]) with these statements run on it
    /// afterwards; `None`: no such file.
    good: Option<&'static str>,
    /// Whatever else the data folder holds.
    build: fn(&Path),
    /// The `--data-dir` given, from the folder built.
    data_dir: fn(&Path) -> PathBuf,
    instrument: &'static str,
    start: &'static str,
    end: &'static str,
    extra: &'static [&'static str],
    /// The `--json-dir` given, from a fresh output folder.
    json_dir: fn(&Path) -> PathBuf,
    code: i32,
    /// Texts stdout or stderr must contain; `{data}` stands for the data folder.
    says: &'static [&'static str],
    outcome: Outcome,
}

enum Outcome {
    /// The command line was wrong, or the output folder unusable: no file written.
    NothingWritten,
    /// The run could not start (the data folder cannot be read): the JSON files are empty.
    EmptyFiles,
    /// The run happened; its summary and JSON files say exactly this.
    Run(Expect),
}

struct Expect {
    bars: u64,
    trades: u64,
    /// Book rows applied in range.
    book_rows: u64,
    /// `skipped.by_reason`, exactly.
    skipped: &'static [(&'static str, u64)],
    /// Every candidate by file name, with its status in the summary.
    files: &'static [(&'static str, &'static str)],
    /// `ohlc_data.json`, exactly.
    ohlc: &'static [[f64; 6]],
    /// A file name and a text one of its warnings or unit conversions contains.
    notes: &'static [(&'static str, &'static str)],
}

/// The outcome of the good recording alone.
const GOOD_ONLY: Expect = Expect {
    bars: 1,
    trades: 2,
    book_rows: 1,
    skipped: &[],
    files: &[(GOOD, "used")],
    ohlc: GOOD_OHLC,
    notes: &[],
};
const GOOD_OHLC: &[[f64; 6]] = &[[DAY as f64, 100.5, 100.5, 100.0, 100.0, 3.0]];
/// The good recording, and one trade at 200 a second into the 16th.
const GOOD_AND_DAY16_OHLC: &[[f64; 6]] = &[
    GOOD_OHLC[0],
    [DAY16 as f64, 200.0, 200.0, 200.0, 200.0, 1.0],
];
/// The good recording with a third trade, of 1 at 101.5.
const GOOD_WITH_A_THIRD_TRADE_OHLC: &[[f64; 6]] = &[[DAY as f64, 100.5, 101.5, 100.0, 100.0, 4.0]];

/// The good recording, and something unusable beside it: exit 1, the good data kept.
const GOOD_AND_UNUSABLE: Expect = Expect {
    files: &[(GOOD, "used"), (OTHER, "unusable")],
    ..GOOD_ONLY
};

/// Nothing in range: exit 2, empty files.
const NO_DATA: Expect = Expect {
    bars: 0,
    trades: 0,
    book_rows: 0,
    skipped: &[],
    files: &[],
    ohlc: &[],
    notes: &[],
};

fn nothing(_: &Path) {}
fn same(dir: &Path) -> PathBuf {
    dir.to_owned()
}
fn json_subdir(out: &Path) -> PathBuf {
    out.join("json")
}

const BASE: Case = Case {
    good: Some(""),
    build: nothing,
    data_dir: same,
    instrument: "BTC-USDT",
    start: "2025-01-15",
    end: "2025-01-16",
    extra: &[],
    json_dir: json_subdir,
    code: 0,
    says: &[],
    outcome: Outcome::Run(GOOD_ONLY),
};

/// One `#[test]` per case, so each passes or fails on its own.
macro_rules! cases {
    ($($(#[$attr:meta])* $name:ident: $case:expr;)*) => {
        $( $(#[$attr])* #[test] fn $name() { check($case) } )*
    };
}

// ----- files that are not usable recordings: skipped, named, the rest processed (exit 1) -----
cases! {
    empty_file: Case { build: |d| write(d, OTHER, b""), code: 1, says: &[OTHER],
        outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    text_named_db: Case { build: |d| write(d, OTHER, b"date,price\n2025-01-16,100\n"), code: 1,
        says: &[OTHER], outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    random_bytes_named_db: Case { build: |d| write(d, OTHER, &noise(8192, 7)), code: 1,
        says: &[OTHER], outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    sqlite_header_then_garbage: Case { build: write_header_then_garbage, code: 1, says: &[OTHER],
        outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    truncated_database: Case { build: write_truncated_database, code: 1, says: &[OTHER],
        outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    no_recording_tables: Case { build: |d| sql(&d.join(OTHER), "CREATE TABLE notes (x TEXT);"),
        code: 1, says: &[OTHER], outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    book_without_bids_column: Case { build: |d| custom_schema(d,
            "CREATE TABLE book (id INTEGER PRIMARY KEY, asks TEXT, timestamp INTEGER);"),
        code: 1, says: &[OTHER, "bids"], outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    trades_without_side_column: Case { build: |d| custom_schema(d,
            "CREATE TABLE trades (id INTEGER PRIMARY KEY, trade_id TEXT, price REAL, size REAL, timestamp INTEGER);"),
        code: 1, says: &[OTHER, "side"], outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    trades_without_timestamp_column: Case { build: |d| custom_schema(d,
            "CREATE TABLE trades (id INTEGER PRIMARY KEY, trade_id TEXT, price REAL, size REAL, side TEXT);"),
        code: 1, says: &[OTHER, "timestamp"], outcome: Outcome::Run(GOOD_AND_UNUSABLE), ..BASE };
    only_unusable_files_is_exit_2: Case { good: None, build: |d| write(d, OTHER, b"not sqlite"),
        code: 2, says: &[OTHER, "no valid data"],
        outcome: Outcome::Run(Expect { files: &[(OTHER, "unusable")], ..NO_DATA }), ..BASE };
}

// ----- files with part of a recording -----
cases! {
    only_a_book_table_is_used_with_a_warning: Case {
        build: |d| custom_schema(d, "CREATE TABLE book (id INTEGER PRIMARY KEY, bids TEXT, asks TEXT, timestamp INTEGER);
            INSERT INTO book VALUES (1, '[[\"200\",\"1\"]]', '[[\"201\",\"1\"]]', @DAY16+1000);"),
        outcome: Outcome::Run(Expect { book_rows: 2, files: &[(GOOD, "used"), (OTHER, "used")],
            notes: &[(OTHER, "trades")], ..GOOD_ONLY }), ..BASE };
    only_a_trades_table_is_used_with_a_warning: Case {
        build: |d| custom_schema(d, "CREATE TABLE trades (id INTEGER PRIMARY KEY, trade_id TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);
            INSERT INTO trades VALUES (1, 'x', 200, 1, 'buy', @DAY16+1000);"),
        outcome: Outcome::Run(Expect { bars: 2, trades: 3, files: &[(GOOD, "used"), (OTHER, "used")],
            ohlc: GOOD_AND_DAY16_OHLC, notes: &[(OTHER, "book")], ..GOOD_ONLY }), ..BASE };
    empty_tables_are_no_data: Case { good: Some("DELETE FROM book; DELETE FROM trades;"), code: 2,
        says: &[GOOD, "no valid data", "no valid rows of BTC-USDT"],
        outcome: Outcome::Run(Expect { files: &[(GOOD, "no_rows_of_instrument")],
            notes: &[(GOOD, "its tables are empty")], ..NO_DATA }), ..BASE };
    all_rows_bad_is_no_data: Case {
        good: Some("UPDATE book SET bids = '[[\"100\"'; UPDATE trades SET price = -1;"), code: 2,
        says: &[GOOD, "no valid data", "book row id 1", "trades row id 2"],
        outcome: Outcome::Run(Expect { skipped: &[("invalid_trade_price", 2), ("unparsable_level_text", 1)],
            files: &[(GOOD, "used")], ..NO_DATA }), ..BASE };
    rows_of_other_instruments_are_not_read: Case {
        good: Some("INSERT INTO book VALUES (2, 'ETH-USDT', 'snapshot', 'garbage', 'garbage', @DAY+1500);
                    INSERT INTO trades VALUES (3, 'BTC-USDT-SWAP', 'x', 1, 1, 'buy', @DAY+2500),
                                              (4, 'eth-usdt', 'y', -5, 1, 'hold', NULL);"),
        ..BASE };
    instrument_column_matches_case_insensitively: Case {
        good: Some("UPDATE book SET instrument = 'btc-usdt'; UPDATE trades SET instrument = 'Btc-Usdt';"),
        ..BASE };
    a_table_in_seconds_is_converted: Case {
        build: |d| sql(&d.join(OTHER), &format!("{}
            INSERT INTO book VALUES (1, 'BTC-USDT', 'snapshot', '[[\"200\",\"1\"]]', '[[\"201\",\"1\"]]', @DAY16/1000+1);
            INSERT INTO trades VALUES (1, 'BTC-USDT', 'a', 200, 1, 'buy', @DAY16/1000+2);", crate::common::SCHEMA)),
        says: &["converted to ms"],
        outcome: Outcome::Run(Expect { bars: 2, trades: 3, book_rows: 2, files: &[(GOOD, "used"), (OTHER, "used")],
            ohlc: GOOD_AND_DAY16_OHLC, notes: &[(OTHER, "converted to ms")], ..GOOD_ONLY }), ..BASE };
}

/// A bad book row (id 2) added to the good recording: skipped and named, the rest processed.
macro_rules! bad_book_row {
    ($($name:ident: $bids:literal => $reason:literal;)*) => { cases! { $(
        $name: Case {
            good: Some(concat!("INSERT INTO book VALUES (2, 'BTC-USDT', 'update', ", $bids, ", '[]', @DAY+1500);")),
            says: &["BTC-USDT-2025-01-15.db book row id 2", $reason],
            outcome: Outcome::Run(Expect { skipped: &[($reason, 1)], ..GOOD_ONLY }), ..BASE };
    )* } };
}

/// A bad trade (id 3) added to the good recording: skipped and named, the rest processed.
macro_rules! bad_trade {
    ($($name:ident: $price:literal, $size:literal, $side:literal, $ts:literal => $reason:literal;)*) => { cases! { $(
        $name: Case {
            good: Some(concat!("INSERT INTO trades VALUES (3, 'BTC-USDT', 't3', ", $price, ", ", $size, ", ", $side, ", ", $ts, ");")),
            says: &["BTC-USDT-2025-01-15.db trades row id 3", $reason],
            outcome: Outcome::Run(Expect { skipped: &[($reason, 1)], ..GOOD_ONLY }), ..BASE };
    )* } };
}

// ----- every bad-row reason of SPEC 4 -----
bad_book_row! {
    level_text_cut_short: "'[[\"100\",\"1\"]'" => "unparsable_level_text";
    level_text_not_a_list: "'{\"100\": \"1\"}'" => "unparsable_level_text";
    level_text_prose: "'no levels today'" => "unparsable_level_text";
    level_text_bare_nan: "'[[NaN, 1]]'" => "unparsable_level_text";
    level_text_nan_string: "'[[\"NaN\", \"1\"]]'" => "invalid_level";
    level_text_blob_not_utf8: "X'FFFE5B5B22313030222C2231225D5D'" => "unparsable_level_text";
    level_price_zero: "'[[\"0\",\"1\"]]'" => "invalid_level";
    level_price_negative: "'[[\"-100\",\"1\"]]'" => "invalid_level";
    level_size_negative: "'[[\"100\",\"-1\"]]'" => "invalid_level";
    level_size_above_1e15: "'[[\"100\",\"1e16\"]]'" => "invalid_level";
    level_price_1e400: "'[[\"1e400\",\"1\"]]'" => "invalid_level";
    level_price_1e400_as_json_number: "'[[1e400, 1]]'" => "invalid_level";
    level_price_with_digit_separator: "'[[\"1_000\",\"1\"]]'" => "invalid_level";
    level_with_one_element: "'[[\"100\"]]'" => "invalid_level";
    level_text_empty_object_in_list: "'[{}]'" => "unparsable_level_text";
}

bad_trade! {
    trade_price_negative: "-1", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_zero: "0", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_infinite_1e400: "1e400", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_text_1e400: "'1e400'", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_text_nan: "'NaN'", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_null: "NULL", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_above_1e15: "1e16", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_with_separator: "'1,000'", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_price_fullwidth_digits: "'１００'", "1", "'buy'", "@DAY+2500" => "invalid_trade_price";
    trade_size_zero: "100", "0", "'buy'", "@DAY+2500" => "invalid_trade_size";
    trade_size_negative: "100", "-2", "'sell'", "@DAY+2500" => "invalid_trade_size";
    trade_size_blob: "100", "X'00'", "'sell'", "@DAY+2500" => "invalid_trade_size";
    trade_side_unknown: "100", "1", "'hold'", "@DAY+2500" => "invalid_trade_side";
    trade_side_null: "100", "1", "NULL", "@DAY+2500" => "invalid_trade_side";
    timestamp_null: "100", "1", "'buy'", "NULL" => "invalid_timestamp";
    timestamp_as_date_text: "100", "1", "'buy'", "'2025-01-15 00:00:02'" => "invalid_timestamp";
    timestamp_negative: "100", "1", "'buy'", "-1736899202500" => "invalid_timestamp";
    timestamp_year_2100: "100", "1", "'buy'", "4102444800000" => "invalid_timestamp";
    timestamp_i64_max: "100", "1", "'buy'", "9223372036854775807" => "invalid_timestamp";
    timestamp_i64_min: "100", "1", "'buy'", "-9223372036854775808" => "invalid_timestamp";
    timestamp_real_1e300: "100", "1", "'buy'", "1e300" => "invalid_timestamp";
}

cases! {
    book_timestamp_far_future: Case {
        good: Some("INSERT INTO book VALUES (2, 'BTC-USDT', 'update', '[]', '[]', 99999999999999);"),
        says: &["BTC-USDT-2025-01-15.db book row id 2", "invalid_timestamp"],
        outcome: Outcome::Run(Expect { skipped: &[("invalid_timestamp", 1)], ..GOOD_ONLY }), ..BASE };
    // Well formed, but its one level is a list of one element: an invalid level.
    brackets_nested_100000_deep: Case { build: |d| bad_bids(d, &nested(100_000, '[', ']')),
        says: &["book row id 2", "invalid_level"],
        outcome: Outcome::Run(Expect { skipped: &[("invalid_level", 1)], ..GOOD_ONLY }), ..BASE };
    brackets_opened_100000_deep_never_closed: Case { build: |d| bad_bids(d, &"[".repeat(100_000)),
        says: &["book row id 2", "unparsable_level_text"],
        outcome: Outcome::Run(Expect { skipped: &[("unparsable_level_text", 1)], ..GOOD_ONLY }), ..BASE };
    tuples_nested_100000_deep: Case { build: |d| bad_bids(d, &nested(100_000, '(', ')')),
        says: &["book row id 2", "unparsable_level_text"],
        outcome: Outcome::Run(Expect { skipped: &[("unparsable_level_text", 1)], ..GOOD_ONLY }), ..BASE };
    ten_megabytes_of_garbage_level_text: Case { build: |d| bad_bids(d, &"x".repeat(10 << 20)),
        says: &["book row id 2", "unparsable_level_text"],
        outcome: Outcome::Run(Expect { skipped: &[("unparsable_level_text", 1)], ..GOOD_ONLY }), ..BASE };
    ten_megabytes_of_valid_levels: Case { build: write_ten_megabytes_of_levels,
        outcome: Outcome::Run(Expect { book_rows: 2, ..GOOD_ONLY }), ..BASE };
    ten_megabytes_of_levels_one_bad_at_the_end: Case {
        build: write_ten_megabytes_one_bad_at_the_end,
        says: &["book row id 2", "invalid_level"],
        outcome: Outcome::Run(Expect { skipped: &[("invalid_level", 1)], ..GOOD_ONLY }), ..BASE };
}

// ----- odd but valid input is read, not skipped -----
cases! {
    level_text_as_utf8_blob: Case {
        good: Some("INSERT INTO book VALUES (2, 'BTC-USDT', 'update', CAST('[[\"99\",\"3\"]]' AS BLOB), NULL, @DAY+1500);"),
        outcome: Outcome::Run(Expect { book_rows: 2, ..GOOD_ONLY }), ..BASE };
    level_text_as_python_literal: Case {
        good: Some("INSERT INTO book VALUES (2, 'BTC-USDT', 'update', '[(''99'', 3), (''98'', ''1.5'', ''0'', ''2'')]', '', @DAY+1500);"),
        outcome: Outcome::Run(Expect { book_rows: 2, ..GOOD_ONLY }), ..BASE };
    trade_numbers_as_text_and_side_with_spaces: Case {
        good: Some("INSERT INTO trades VALUES (3, 'BTC-USDT', 't3', ' 101.5 ', '1e0', ' BUY ', @DAY+2500);"),
        outcome: Outcome::Run(Expect { trades: 3, ohlc: GOOD_WITH_A_THIRD_TRADE_OHLC, ..GOOD_ONLY }),
        ..BASE };
}

// ----- the data folder -----
cases! {
    a_directory_named_like_a_recording_is_passed_over: Case {
        build: |d| std::fs::create_dir(d.join(OTHER)).unwrap(), ..BASE };
    only_a_directory_named_like_a_recording_is_no_recording: Case { good: None,
        build: |d| std::fs::create_dir_all(d.join(GOOD).join("inner.db")).unwrap(), code: 2,
        says: &["no recording of BTC-USDT found in {data}"], outcome: Outcome::Run(NO_DATA), ..BASE };
    symlink_loops_are_passed_over: Case { build: symlink_loops, ..BASE };
    a_dangling_symlink_is_passed_over: Case {
        build: |d| symlink(&d.join("gone.db"), &d.join(OTHER)), ..BASE };
    a_symlink_to_a_recording_is_followed: Case { good: None, build: linked_recording,
        outcome: Outcome::Run(Expect { files: &[("BTC-USDT-2025-01-15.sqlite", "used")], ..GOOD_ONLY }),
        ..BASE };
    hidden_files_are_not_candidates: Case { good: None,
        build: |d| { good_recording(d, GOOD, ""); std::fs::rename(d.join(GOOD), d.join(".BTC-USDT-2025-01-15.db")).unwrap(); },
        code: 2, says: &["no recording of BTC-USDT found"], outcome: Outcome::Run(NO_DATA), ..BASE };
    another_instrument_with_a_longer_name_is_not_a_candidate: Case { good: None,
        build: |d| { good_recording(d, "BTC-USDT-SWAP-2025-01-15.db", ""); },
        code: 2, says: &["no recording of BTC-USDT found"], outcome: Outcome::Run(NO_DATA), ..BASE };
    upper_case_extension_is_a_candidate: Case { good: None,
        build: |d| { good_recording(d, "BTC-USDT-2025-01-15.DB", ""); },
        outcome: Outcome::Run(Expect { files: &[("BTC-USDT-2025-01-15.DB", "used")], ..GOOD_ONLY }), ..BASE };
    the_data_folder_does_not_exist: Case { data_dir: |d| d.join("no-such-folder"), code: 2,
        says: &["no-such-folder"], outcome: Outcome::EmptyFiles, ..BASE };
    the_data_folder_is_a_file: Case { data_dir: |d| d.join(GOOD), code: 2,
        says: &[GOOD], outcome: Outcome::EmptyFiles, ..BASE };
}

// ----- instruments with quotes or SQL are data, never code -----
cases! {
    an_instrument_with_a_quote: Case { good: None, instrument: "BTC'USDT",
        build: |d| { good_recording(d, "BTC'USDT-2025-01-15.db", "UPDATE book SET instrument = 'BTC''USDT'; UPDATE trades SET instrument = 'BTC''USDT';"); },
        outcome: Outcome::Run(Expect { files: &[("BTC'USDT-2025-01-15.db", "used")], ..GOOD_ONLY }), ..BASE };
    an_instrument_with_sql: Case { good: None, instrument: "x' OR '1'='1",
        build: |d| { good_recording(d, "x' OR '1'='1-2025-01-15.db", ""); },
        code: 2, says: &["no valid data of x' OR '1'='1"],
        outcome: Outcome::Run(Expect { files: &[("x' OR '1'='1-2025-01-15.db", "no_rows_of_instrument")], ..NO_DATA }),
        ..BASE };
    an_instrument_with_a_statement: Case { good: None, instrument: "BTC\"; DROP TABLE trades; --",
        build: |d| { good_recording(d, "BTC\"; DROP TABLE trades; --_2025-01-15.db", ""); },
        code: 2, says: &["no valid data"],
        outcome: Outcome::Run(Expect { files: &[("BTC\"; DROP TABLE trades; --_2025-01-15.db", "no_rows_of_instrument")], ..NO_DATA }),
        ..BASE };
    an_empty_instrument: Case { instrument: " ", code: 2, says: &["INSTRUMENT"],
        outcome: Outcome::NothingWritten, ..BASE };
}

// ----- the command line: usage errors write nothing -----
cases! {
    start_is_not_a_date: Case { start: "2025-13-01", code: 2, says: &["2025-13-01"],
        outcome: Outcome::NothingWritten, ..BASE };
    end_is_not_a_date: Case { end: "2025-02-30", code: 2, says: &["2025-02-30"],
        outcome: Outcome::NothingWritten, ..BASE };
    start_is_a_word: Case { start: "yesterday", code: 2, says: &["yesterday"],
        outcome: Outcome::NothingWritten, ..BASE };
    end_before_start: Case { start: "2025-01-16", end: "2025-01-14", code: 2, says: &["before START"],
        outcome: Outcome::NothingWritten, ..BASE };
    zero_window: Case { extra: &["--window-seconds", "0"], code: 2, says: &["window-seconds"],
        outcome: Outcome::NothingWritten, ..BASE };
    negative_window: Case { extra: &["--window-seconds=-60"], code: 2, says: &["window-seconds"],
        outcome: Outcome::NothingWritten, ..BASE };
    window_above_a_year: Case { extra: &["--window-seconds", "31622401"], code: 2, says: &["window-seconds"],
        outcome: Outcome::NothingWritten, ..BASE };
    fractional_window: Case { extra: &["--window-seconds", "0.5"], code: 2, says: &["window-seconds"],
        outcome: Outcome::NothingWritten, ..BASE };
    zero_depth_levels: Case { extra: &["--depth-levels", "0"], code: 2, says: &["depth-levels"],
        outcome: Outcome::NothingWritten, ..BASE };
    an_empty_range_is_no_data: Case { start: "2025-01-15T00:00:01Z", end: "2025-01-15T00:00:01Z", code: 2,
        says: &["no valid data"], outcome: Outcome::Run(Expect { files: &[(GOOD, "out_of_range")], ..NO_DATA }), ..BASE };
    a_range_in_another_century_is_no_data: Case { start: "1900-01-01", end: "1900-01-02", code: 2,
        says: &["no valid data", GOOD], outcome: Outcome::Run(Expect { files: &[(GOOD, "out_of_range")], ..NO_DATA }), ..BASE };
    an_output_folder_under_a_file: Case {
        json_dir: |out| { write(out, "plain-file", b"x"); out.join("plain-file").join("json") },
        code: 2, says: &["plain-file"], outcome: Outcome::NothingWritten, ..BASE };
}

// ----- builders -----

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Deterministic noise (xorshift), so a failing case fails the same way again.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn write_header_then_garbage(dir: &Path) {
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(noise(4096 * 4 - 16, 11));
    write(dir, OTHER, &bytes);
}

/// A recording of the 16th with both tables filled (several pages each), cut in half.
fn write_truncated_database(dir: &Path) {
    let path = dir.join(OTHER);
    many_rows(&path, 2_000);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
}

/// A recording of the 16th: `n` book rows, then `n` trades, one a second.
pub fn many_rows(path: &Path, n: i64) {
    let mut db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(crate::common::SCHEMA).unwrap();
    let tx = db.transaction().unwrap();
    for i in 1..=n {
        let action = if i == 1 { "snapshot" } else { "update" };
        tx.execute(
            "INSERT INTO book VALUES (?1, 'BTC-USDT', ?2, ?3, ?4, ?5)",
            rusqlite::params![
                i,
                action,
                format!(
                    "[[\"{}\",\"1.5\",\"0\",\"1\"],[\"199\",\"2\",\"0\",\"1\"]]",
                    100 + i % 50
                ),
                format!(
                    "[[\"{}\",\"1\",\"0\",\"1\"],[\"301\",\"2\",\"0\",\"1\"]]",
                    200 + i % 50
                ),
                DAY16 + i * 1000
            ],
        )
        .unwrap();
    }
    for i in 1..=n {
        tx.execute(
            "INSERT INTO trades VALUES (?1, 'BTC-USDT', ?2, ?3, 1, ?4, ?5)",
            rusqlite::params![
                i,
                format!("trade-{i:06}"),
                150.0 + (i % 7) as f64,
                if i % 3 == 0 { "sell" } else { "buy" },
                DAY16 + i * 1000 + 500
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// A recording of the 16th whose own schema is `schema` (and rows, if it has any).
fn custom_schema(dir: &Path, schema: &str) {
    sql(&dir.join(OTHER), schema);
}

/// The good recording with book row 2 holding `bids`.
fn bad_bids(dir: &Path, bids: &str) {
    let db = rusqlite::Connection::open(dir.join(GOOD)).unwrap();
    db.execute(
        "INSERT INTO book VALUES (2, 'BTC-USDT', 'update', ?1, '[]', ?2)",
        rusqlite::params![bids, DAY + 1500],
    )
    .unwrap();
}

fn nested(depth: usize, open: char, close: char) -> String {
    let mut text = String::with_capacity(depth * 2);
    text.extend(std::iter::repeat_n(open, depth));
    text.extend(std::iter::repeat_n(close, depth));
    text
}

/// At least `len` bytes of valid bid levels, all below the good recording's best bid.
fn levels_text(len: usize) -> String {
    let mut text = String::with_capacity(len + 64);
    text.push('[');
    let mut i = 1u64;
    while text.len() < len {
        if i > 1 {
            text.push(',');
        }
        text.push_str(&format!(
            "[\"{}.{:06}\",\"0.5\"]",
            i / 1_000_000,
            i % 1_000_000
        ));
        i += 1;
    }
    text.push(']');
    text
}

fn write_ten_megabytes_of_levels(dir: &Path) {
    bad_bids(dir, &levels_text(10 << 20));
}

fn write_ten_megabytes_one_bad_at_the_end(dir: &Path) {
    let mut text = levels_text(10 << 20);
    text.pop();
    text.push_str(",[\"5\",\"-1\"]]");
    bad_bids(dir, &text);
}

fn symlink_loops(dir: &Path) {
    symlink(Path::new("."), &dir.join("self"));
    symlink(Path::new(".."), &dir.join("parent"));
    symlink(
        &dir.join("BTC-USDT-2025-01-17.db"),
        &dir.join("BTC-USDT-2025-01-18.db"),
    );
    symlink(
        &dir.join("BTC-USDT-2025-01-18.db"),
        &dir.join("BTC-USDT-2025-01-17.db"),
    );
    std::fs::create_dir(dir.join("sub")).unwrap();
    symlink(dir, &dir.join("sub").join("BTC-USDT-2025-01-19.db"));
}

/// The good recording kept elsewhere, reached through a link in the data folder.
fn linked_recording(dir: &Path) {
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    good_recording(&elsewhere, "target.db", "");
    symlink(
        &elsewhere.join("target.db"),
        &dir.join("BTC-USDT-2025-01-15.sqlite"),
    );
}

// ----- the check -----

fn check(case: Case) {
    let data = tempfile::tempdir().unwrap();
    if let Some(statements) = case.good {
        good_recording(data.path(), GOOD, statements);
    }
    (case.build)(data.path());
    let out = tempfile::tempdir().unwrap();
    let json_dir = (case.json_dir)(out.path());
    let summary_file = out.path().join("summary.json");
    let data_dir = (case.data_dir)(data.path());
    let before = inputs(data.path());

    let mut args = vec![
        "process",
        case.instrument,
        case.start,
        case.end,
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--json-dir",
        json_dir.to_str().unwrap(),
        "--summary",
        summary_file.to_str().unwrap(),
    ];
    args.extend(case.extra);
    let output = orderflow(&args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "never a panic:\n{text}"
    );
    assert_eq!(
        output.status.code(),
        Some(case.code),
        "exit status:\n{text}"
    );
    for says in case.says {
        let says = says.replace("{data}", &data_dir.display().to_string());
        assert!(
            text.contains(&says),
            "the output should say {says:?}:\n{text}"
        );
    }
    assert_inputs_unchanged(&before, &inputs(data.path()));

    match case.outcome {
        Outcome::NothingWritten => {
            assert!(
                !json_dir.join("ohlc_data.json").exists() && !summary_file.exists(),
                "nothing is written when the command line is wrong:\n{text}"
            );
        }
        Outcome::EmptyFiles => assert_empty_files(&json_dir),
        Outcome::Run(expect) => check_run(&expect, &json_dir, &summary_file, &text),
    }
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("{} should be there: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} should be JSON: {error}\n{text}", path.display()))
}

fn assert_empty_files(json_dir: &Path) {
    assert_eq!(read(&json_dir.join("ohlc_data.json")), json!([]));
    assert_eq!(read(&json_dir.join("metrics_data.json")), json!([]));
    assert_eq!(
        read(&json_dir.join("depth_data.json")),
        json!({"bids": [], "asks": []})
    );
}

fn check_run(expect: &Expect, json_dir: &Path, summary_file: &Path, text: &str) {
    let summary = read(summary_file);
    let counts = (&summary["bars"], &summary["trades"], &summary["book_rows"]);
    assert_eq!(
        counts,
        (
            &json!(expect.bars),
            &json!(expect.trades),
            &json!(expect.book_rows)
        ),
        "bars, trades, book rows:\n{text}"
    );
    let skipped: BTreeMap<String, u64> = expect
        .skipped
        .iter()
        .map(|(reason, n)| (reason.to_string(), *n))
        .collect();
    assert_eq!(
        summary["skipped"]["by_reason"],
        json!(skipped),
        "skipped rows:\n{text}"
    );
    let total: u64 = skipped.values().sum();
    assert_eq!(summary["skipped"]["total"], json!(total));

    let mut files: Vec<(String, String)> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            (
                file_name(&file["path"]),
                file["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    files.sort();
    let mut expected: Vec<(String, String)> = expect
        .files
        .iter()
        .map(|(name, status)| (name.to_string(), status.to_string()))
        .collect();
    expected.sort();
    assert_eq!(files, expected, "candidates and their status:\n{text}");

    for (name, note) in expect.notes {
        let file = summary["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|file| file_name(&file["path"]) == *name)
            .unwrap();
        let notes = format!("{}{}", file["warnings"], file["unit_conversions"]);
        assert!(notes.contains(note), "{name} should note {note:?}: {notes}");
    }

    let ohlc: Vec<Value> = expect.ohlc.iter().map(|row| json!(row)).collect();
    assert_json_eq(
        &read(&json_dir.join("ohlc_data.json")),
        &json!(ohlc),
        "ohlc",
    );
    let metrics = read(&json_dir.join("metrics_data.json"));
    assert_eq!(
        metrics.as_array().unwrap().len() as u64,
        summary["metric_bars"].as_u64().unwrap().min(1000)
    );
    let depth = read(&json_dir.join("depth_data.json"));
    assert!(depth["bids"].is_array() && depth["asks"].is_array());
}

fn file_name(path: &Value) -> String {
    Path::new(path.as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A recording of the 16th whose book table has a page of garbage in the middle: the file is
/// reported as failed midway (exit 1) and the rows before that page are kept, exactly.
#[test]
fn a_corrupted_page_in_the_middle_keeps_the_rows_before_it() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join(OTHER);
    let mut rows = String::new();
    for i in 1..=1000 {
        // The third element of a level is ignored; it marks the row in the file's bytes.
        rows.push_str(&format!(
            "INSERT INTO book VALUES ({i}, 'BTC-USDT', '{}', '[[\"100\",\"1\",\"R{i:06}\"]]', '[[\"101\",\"1\"]]', @DAY16+{});",
            if i == 1 { "snapshot" } else { "update" },
            i * 1000
        ));
    }
    sql(&path, &format!("{}{rows}", crate::common::SCHEMA));
    let page_size: usize = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let marker = |i: i64| format!("R{i:06}").into_bytes();
    let page = bytes
        .chunks(page_size)
        .position(|page| page.windows(7).any(|w| w == marker(500).as_slice()))
        .unwrap();
    let first_on_page = (1..=1000)
        .find(|i| {
            bytes[page * page_size..(page + 1) * page_size]
                .windows(7)
                .any(|w| w == marker(*i).as_slice())
        })
        .unwrap();
    assert!(first_on_page > 100, "a page in the middle");
    bytes[page * page_size..(page + 1) * page_size].fill(0xFF);
    std::fs::write(&path, &bytes).unwrap();

    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.json");
    let output = orderflow(&super::day_run(
        "process",
        "2025-01-16",
        data.path(),
        out.path(),
        &["--summary", summary.to_str().unwrap()],
    ));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(OTHER) && text.contains("the rows read before were kept"),
        "{text}"
    );
    let summary = read(&summary);
    assert_eq!(summary["files"][0]["status"], "failed_midway", "{text}");
    assert_eq!(
        summary["book_rows"],
        json!(first_on_page - 1),
        "every row before the corrupt page (row {first_on_page} on) is kept:\n{text}"
    );
}
