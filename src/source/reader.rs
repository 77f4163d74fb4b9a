//! Reading one recording: its range and time units, then its events in the order of SPEC 2.1.
//!
//! API CONTRACT: signatures fixed; bodies filled in by the source work.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::{Event, Millis};

use super::TimeUnit;

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
    Event(Event),
    Bad(BadRow),
}

/// A file that cannot be used (SPEC 4), or that failed midway.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("todo")]
    Todo,
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

/// An open recording, read-only.
pub struct Recording {
    _todo: (),
}

impl Recording {
    /// Opens `path` read-only for `instrument` and learns its [`FileInfo`].
    ///
    /// # Errors
    /// [`FileError`] when the file is not a usable SQLite recording.
    pub fn open(_path: &Path, _instrument: &str) -> Result<Recording, FileError> {
        todo!()
    }
    pub fn info(&self) -> &FileInfo {
        todo!()
    }
    /// The merged events (SPEC 2.1), ending before the first event at or after `end`.
    pub fn events(&mut self, _end: Millis) -> Result<EventStream<'_>, FileError> {
        todo!()
    }
}

/// A stream of records from one recording.
pub struct EventStream<'a> {
    _recording: &'a mut Recording,
}

impl EventStream<'_> {
    /// The next record, `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`FileError`] when the file turns out corrupt midway; what came before stays valid.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Record>, FileError> {
        todo!()
    }
    /// Rows read so far (book and trades, valid or not), for progress.
    pub fn rows_read(&self) -> u64 {
        todo!()
    }
}
