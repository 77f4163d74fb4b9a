//! What reading a recording gives, whatever the source: records, bad rows, what a file holds,
//! and why a file cannot be used. The vocabulary every other part of `source` speaks.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::Millis;

use super::parse::timestamp::TimeUnit;

/// The two tables of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Book,
    Trades,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Table::Book => "book",
            Table::Trades => "trades",
        })
    }
}

/// Why a row was skipped (SPEC 4). `as_str` gives the stable key used in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadReason {
    /// Level text that is not JSON or a Python literal list of levels.
    LevelText,
    /// Level text that parses but holds an invalid level (price <= 0, size < 0, > 1e15, ...).
    InvalidLevel,
    /// Timestamp NULL, not INTEGER/REAL, or outside [2000, 2100) once converted.
    Timestamp,
    TradePrice,
    TradeSize,
    TradeSide,
}

impl BadReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BadReason::LevelText => "unparsable_level_text",
            BadReason::InvalidLevel => "invalid_level",
            BadReason::Timestamp => "invalid_timestamp",
            BadReason::TradePrice => "invalid_trade_price",
            BadReason::TradeSize => "invalid_trade_size",
            BadReason::TradeSide => "invalid_trade_side",
        }
    }
}

/// A skipped row: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub table: Table,
    pub id: i64,
    pub reason: BadReason,
    /// A short human detail, e.g. the offending value (at most ~80 chars).
    pub detail: String,
}

/// One item of an event stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Event(crate::engine::Event),
    Bad(BadRow),
}

impl Record {
    /// The row's id in its table.
    pub fn id(&self) -> i64 {
        match self {
            Record::Event(crate::engine::Event::Book(row)) => row.id,
            Record::Event(crate::engine::Event::Trade(trade)) => trade.id,
            Record::Bad(bad) => bad.id,
        }
    }
}

/// A file that cannot be used (SPEC 4), or that failed midway.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: cannot be opened ({detail}); check that it exists and is readable", path.display())]
    CannotOpen { path: PathBuf, detail: String },
    #[error(
        "{}: not an SQLite database (or an encrypted one); move it out of the data directory or give it another extension",
        path.display()
    )]
    NotSqlite { path: PathBuf },
    #[error(
        "{}: the database is corrupt ({detail}); restore it from a copy, or check it with `sqlite3 FILE 'PRAGMA integrity_check'`",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{}: has a hot journal (a write was interrupted) that a read-only reader cannot roll back; open it once with `sqlite3 FILE 'PRAGMA schema_version'` to recover it, then run again",
        path.display()
    )]
    HotJournal { path: PathBuf },
    #[error(
        "{}: locked by another process for more than 5 seconds; run again when the writer has finished",
        path.display()
    )]
    Locked { path: PathBuf },
    #[error(
        "{}: has neither a `book` nor a `trades` table; a recording needs at least one of book(id, timestamp, bids, asks) and trades(id, timestamp, price, size, side)",
        path.display()
    )]
    NoTables { path: PathBuf },
    #[error(
        "{}: table `{table}` has no column {column}; expected {expected} (names match in any case)",
        path.display()
    )]
    MissingColumn {
        path: PathBuf,
        table: Table,
        column: &'static str,
        expected: &'static str,
    },
    #[error("{}: SQLite error while {doing}: {detail}", path.display())]
    Sqlite {
        path: PathBuf,
        doing: &'static str,
        detail: String,
    },
    #[error(
        "{}: table `{table}` has `{column}` values that are not integers; `{column}` must be an INTEGER (ideally the INTEGER PRIMARY KEY): rebuild the table with integer ids",
        path.display()
    )]
    IdNotInteger {
        path: PathBuf,
        table: Table,
        column: String,
    },
    #[error(
        "{}: gave no answer within {seconds} s (an endless view or a pathological schema?); check it with `sqlite3 FILE .schema`, or raise --stall-seconds",
        path.display()
    )]
    NoAnswer { path: PathBuf, seconds: u64 },
    #[error("{}: reading was interrupted", path.display())]
    Interrupted { path: PathBuf },
}

impl FileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            FileError::CannotOpen { path, .. }
            | FileError::NotSqlite { path }
            | FileError::Corrupt { path, .. }
            | FileError::HotJournal { path }
            | FileError::Locked { path }
            | FileError::NoTables { path }
            | FileError::MissingColumn { path, .. }
            | FileError::Sqlite { path, .. }
            | FileError::IdNotInteger { path, .. }
            | FileError::NoAnswer { path, .. }
            | FileError::Interrupted { path } => path,
        }
    }
}

/// What a recording holds, learned without scanning it (SPEC 1.1, 1.4).
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    pub path: PathBuf,
    /// Earliest and latest valid timestamp among the first/last rows of both tables.
    pub range: Option<(Millis, Millis)>,
    /// Timestamp of the first valid book row (the ordering key), else of the first trade.
    pub first_ts: Option<Millis>,
    pub book_unit: Option<TimeUnit>,
    pub trades_unit: Option<TimeUnit>,
    pub has_book: bool,
    pub has_trades: bool,
    /// Rows the file holds at most (for progress): max(id) - min(id) + 1 of both tables.
    pub rows_estimate: u64,
    /// Things the user should know (a missing table, a unit conversion, ...).
    pub warnings: Vec<String>,
}
