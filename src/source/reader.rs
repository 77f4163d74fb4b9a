//! Reading one recording: its range and time units, then its events in the order of SPEC 2.1.
//!
//! [`Recording::open`] learns what a file holds from a handful of indexed queries (the first and
//! last rows by `id`), never a scan. [`Recording::events`] streams the merged rows (see
//! [`super::stream`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, ffi};

use crate::engine::Millis;

use super::TimeUnit;
use super::guard;
use super::schema::{self, BookColumns, MissingColumn, TradeColumns, quote};
use super::timestamp::{Raw, sql_plausible};

pub use super::stream::{EventStream, TradeOrder};

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
    /// Only from a stream that trusted the trades to be in time order by `id`
    /// ([`TradeOrder::Trusted`]): the records it gave are not the file's, read it again
    /// [`TradeOrder::Checked`].
    #[error("{}: its trades are not in time order by id", path.display())]
    TradesOutOfOrder { path: PathBuf },
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
            | FileError::Interrupted { path }
            | FileError::TradesOutOfOrder { path } => path,
        }
    }

    /// Turns a SQLite error into the message a user can act on.
    pub(crate) fn from_sqlite(path: &Path, doing: &'static str, error: rusqlite::Error) -> Self {
        let path = path.to_owned();
        let detail = error.to_string();
        let rusqlite::Error::SqliteFailure(failure, _) = &error else {
            return FileError::Sqlite {
                path,
                doing,
                detail,
            };
        };
        match failure.code {
            ErrorCode::NotADatabase => FileError::NotSqlite { path },
            ErrorCode::DatabaseCorrupt => FileError::Corrupt { path, detail },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => FileError::Locked { path },
            ErrorCode::CannotOpen => FileError::CannotOpen { path, detail },
            ErrorCode::OperationInterrupted if guard::stalled() => FileError::NoAnswer {
                path,
                seconds: guard::stall_limit().as_secs(),
            },
            ErrorCode::OperationInterrupted if guard::reading_cancelled() => {
                FileError::Interrupted { path }
            }
            ErrorCode::ReadOnly
                if matches!(
                    failure.extended_code,
                    ffi::SQLITE_READONLY_ROLLBACK | ffi::SQLITE_READONLY_RECOVERY
                ) =>
            {
                FileError::HotJournal { path }
            }
            _ => FileError::Sqlite {
                path,
                doing,
                detail,
            },
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

/// An open recording, read-only.
pub struct Recording {
    pub(crate) path: PathBuf,
    pub(crate) instrument: String,
    pub(crate) book: Option<BookColumns>,
    pub(crate) trades: Option<TradeColumns>,
    /// Whether each table's `id` is a key that a read can resume after (the rowid, or a
    /// primary key): then it is read in short pieces, as an append-only log (SPEC 4).
    pub(crate) book_keyed: bool,
    pub(crate) trades_keyed: bool,
    info: FileInfo,
}

impl Recording {
    /// Opens `path` read-only for `instrument` and learns its [`FileInfo`].
    ///
    /// # Errors
    /// [`FileError`] when the file is not a usable SQLite recording: not SQLite, corrupt,
    /// encrypted, a hot journal, locked for more than 5 s, neither table, a missing column.
    pub fn open(path: &Path, instrument: &str) -> Result<Recording, FileError> {
        let conn = connect(path)?;
        let fail = |doing| move |e| FileError::from_sqlite(path, doing, e);

        let book_table = schema::find_table(&conn, "book").map_err(fail("reading the schema"))?;
        let trades_table =
            schema::find_table(&conn, "trades").map_err(fail("reading the schema"))?;
        if book_table.is_none() && trades_table.is_none() {
            return Err(FileError::NoTables {
                path: path.to_owned(),
            });
        }
        let missing = |m: MissingColumn| FileError::MissingColumn {
            path: path.to_owned(),
            table: m.table,
            column: m.column,
            expected: m.expected,
        };
        let book = match &book_table {
            Some(table) => Some(
                schema::book_columns(&conn, table)
                    .map_err(fail("reading the schema"))?
                    .map_err(missing)?,
            ),
            None => None,
        };
        let trades = match &trades_table {
            Some(table) => Some(
                schema::trade_columns(&conn, table)
                    .map_err(fail("reading the schema"))?
                    .map_err(missing)?,
            ),
            None => None,
        };

        let book_keyed = match &book {
            Some(c) => keyed(&conn, path, Table::Book, &c.table, &c.id)?,
            None => false,
        };
        let trades_keyed = match &trades {
            Some(c) => keyed(&conn, path, Table::Trades, &c.table, &c.id)?,
            None => false,
        };

        let mut warnings = Vec::new();
        let book_ends = match &book {
            Some(c) => table_ends(
                &conn,
                &c.table,
                &c.id,
                &c.timestamp,
                &c.instrument,
                instrument,
            )
            .map_err(fail("reading the first and last book rows"))?,
            None => {
                warnings.push(
                    "no `book` table: only trades are read (no order book, OBI or depth from this file)"
                        .to_owned(),
                );
                TableEnds::default()
            }
        };
        let trade_ends = match &trades {
            Some(c) => table_ends(
                &conn,
                &c.table,
                &c.id,
                &c.timestamp,
                &c.instrument,
                instrument,
            )
            .map_err(fail("reading the first and last trades"))?,
            None => {
                warnings.push(
                    "no `trades` table: only book rows are read (no bars or CVD from this file)"
                        .to_owned(),
                );
                TableEnds::default()
            }
        };
        for (name, ends) in [("book", &book_ends), ("trades", &trade_ends)] {
            if let Some(unit) = ends.unit.filter(|u| *u != TimeUnit::Millis) {
                warnings.push(format!("{name} timestamps in {unit}, converted to ms"));
            }
        }

        let stamps = [
            book_ends.first,
            book_ends.last,
            trade_ends.first,
            trade_ends.last,
        ];
        let lo = stamps.iter().flatten().min().copied();
        let hi = stamps.iter().flatten().max().copied();
        let info = FileInfo {
            path: path.to_owned(),
            range: lo.zip(hi),
            first_ts: book_ends.first.or(trade_ends.first),
            book_unit: book_ends.unit,
            trades_unit: trade_ends.unit,
            has_book: book.is_some(),
            has_trades: trades.is_some(),
            rows_estimate: book_ends.rows + trade_ends.rows,
            warnings,
        };
        Ok(Recording {
            path: path.to_owned(),
            instrument: instrument.to_owned(),
            book,
            trades,
            book_keyed,
            trades_keyed,
            info,
        })
    }

    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Replaces the range learned from the first and last rows by `id` with the true first and
    /// last valid timestamps, found by a scan of both tables: a table that is not in time
    /// order by `id` may hold data outside the ends by `id` (SPEC 1.1). Meant for a file that
    /// seems to lie outside the range, before it is passed over.
    ///
    /// # Errors
    /// [`FileError`] when the file cannot be read.
    pub fn scan_range(&mut self) -> Result<Option<(Millis, Millis)>, FileError> {
        let conn = connect(&self.path)?;
        let mut lo: Option<Millis> = None;
        let mut hi: Option<Millis> = None;
        let tables = [
            self.book
                .as_ref()
                .map(|c| (&c.table, &c.timestamp, &c.instrument, self.info.book_unit)),
            self.trades
                .as_ref()
                .map(|c| (&c.table, &c.timestamp, &c.instrument, self.info.trades_unit)),
        ];
        for (table, ts, instrument_col, unit) in tables.into_iter().flatten() {
            let Some(unit) = unit else { continue };
            let (table, ts) = (quote(table), quote(ts));
            let (filter, params) = match instrument_col {
                Some(col) => (
                    format!(" AND {} = ?1 COLLATE NOCASE", quote(col)),
                    vec![self.instrument.as_str()],
                ),
                None => (String::new(), vec![]),
            };
            let sql = format!(
                "SELECT min({ts}), max({ts}) FROM {table} WHERE {}{filter}",
                unit.sql_valid(&ts)
            );
            let (first, last) = conn
                .query_row(&sql, rusqlite::params_from_iter(&params), |row| {
                    Ok((raw_of(row.get_ref(0)?), raw_of(row.get_ref(1)?)))
                })
                .map_err(|e| FileError::from_sqlite(&self.path, "scanning the timestamps", e))?;
            let first = first.and_then(|raw| unit.to_millis(raw));
            let last = last.and_then(|raw| unit.to_millis(raw));
            lo = lo.into_iter().chain(first).min();
            hi = hi.into_iter().chain(last).max();
        }
        self.info.range = lo.zip(hi);
        Ok(self.info.range)
    }

    /// The merged events (SPEC 2.1), ending before the first event at or after `end`.
    ///
    /// Rows are read and parsed on helper threads, a bounded number of rows ahead. `order`
    /// says how the trades are brought into time order.
    ///
    /// # Errors
    /// [`FileError`] when the file cannot be opened again (deleted or locked since `open`).
    pub fn events(&mut self, end: Millis, order: TradeOrder) -> Result<EventStream<'_>, FileError> {
        let conn = connect(&self.path)?;
        EventStream::start(self, conn, end, order)
    }

    /// The same records as [`Recording::events`], read on the calling thread: each goes to
    /// `consume` with the rows read so far, until the end or until `consume` breaks.
    ///
    /// # Errors
    /// [`FileError`] when the file cannot be read or turns out corrupt midway; the records
    /// handed over before stay valid.
    pub fn for_each_record(
        &mut self,
        end: Millis,
        consume: &mut dyn FnMut(Record, u64) -> std::ops::ControlFlow<()>,
    ) -> Result<(), FileError> {
        let conn = connect(&self.path)?;
        super::stream::read_inline(self, conn, end, consume)
    }
}

/// `file:` URI for `path` with `query`; every byte outside the unreserved set is escaped.
fn file_uri(path: &Path, query: &str) -> String {
    let mut uri = String::from("file:");
    let bytes = path.as_os_str().as_encoded_bytes();
    // `file://x` would name a host: keep a leading `//` in the path part.
    if bytes.starts_with(b"//") {
        uri.push_str("//");
    }
    for &c in bytes {
        if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'.' | b'_' | b'~') {
            uri.push(c as char);
        } else {
            uri.push_str(&format!("%{c:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

/// A read-only connection tuned for one sequential pass, checked to be a readable SQLite database.
///
/// Locking is SQLite's own, never `immutable=1` (SPEC 4): a recorder may be writing the file.
/// The file is opened at its real path, behind any symbolic link, because SQLite looks for
/// its journal or WAL beside the path it is given; opened through a link, it would miss a hot
/// journal or committed WAL frames that lie beside the real file.
pub(crate) fn connect(path: &Path) -> Result<Connection, FileError> {
    let fail = |doing| move |e| FileError::from_sqlite(path, doing, e);
    if !path.is_file() {
        return Err(FileError::CannotOpen {
            path: path.to_owned(),
            detail: "not a file".to_owned(),
        });
    }
    let real = std::fs::canonicalize(path).map_err(|e| FileError::CannotOpen {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(file_uri(&real, "mode=ro"), flags).map_err(fail("opening"))?;
    guard::watch(&conn);
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(fail("opening"))?;
    // One sequential pass reads each page once, so a large page cache or a memory map buys
    // nothing and costs resident memory that grows with the file: mapped pages count in RSS
    // as they are touched (a 256 MB map made a day's run peak at 340 MB). 2 MB of cache keeps
    // the b-tree's interior pages; the OS page cache does the rest.
    conn.execute_batch(
        "PRAGMA query_only = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 0;
         PRAGMA cache_size = -2048;",
    )
    .map_err(fail("setting up the connection"))?;
    // Opening is lazy: this first read is what finds a file that is not SQLite, encrypted,
    // locked or with a hot journal.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(fail("reading the schema"))?;
    Ok(conn)
}

/// Whether a read of `table` can resume after an id: its `id` is the rowid. Otherwise the
/// table is read in one statement, and its `id` values must all be integers (SPEC 4: a table
/// ordered by text ids would give wrong numbers).
fn keyed(
    conn: &Connection,
    path: &Path,
    which: Table,
    table: &str,
    id: &str,
) -> Result<bool, FileError> {
    if schema::id_is_rowid(conn, table, id) {
        return Ok(true);
    }
    let integers = schema::ids_are_integers(conn, table, id)
        .map_err(|e| FileError::from_sqlite(path, "checking the ids", e))?;
    if !integers {
        return Err(FileError::IdNotInteger {
            path: path.to_owned(),
            table: which,
            column: id.to_owned(),
        });
    }
    Ok(false)
}

/// The first and last valid timestamps of a table, its unit and its row estimate.
#[derive(Debug, Default)]
struct TableEnds {
    unit: Option<TimeUnit>,
    first: Option<Millis>,
    last: Option<Millis>,
    rows: u64,
}

/// Reads [`TableEnds`] through the `id` order: each query stops at its first matching row.
fn table_ends(
    conn: &Connection,
    table: &str,
    id: &str,
    ts: &str,
    instrument_col: &Option<String>,
    instrument: &str,
) -> rusqlite::Result<TableEnds> {
    let (table, id, ts) = (quote(table), quote(id), quote(ts));
    let (filter, params): (String, Vec<&str>) = match instrument_col {
        Some(col) => (
            format!(" AND {} = ?1 COLLATE NOCASE", quote(col)),
            vec![instrument],
        ),
        None => (String::new(), vec![]),
    };
    let one = |condition: &str, order: &str| -> rusqlite::Result<Option<Raw>> {
        let sql = format!(
            "SELECT {ts} FROM {table} WHERE {condition}{filter} ORDER BY {id} {order} LIMIT 1"
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        Ok(match rows.next()? {
            Some(row) => raw_of(row.get_ref(0)?),
            None => None,
        })
    };
    let mut ends = TableEnds::default();
    // Two subqueries, because SQLite answers a lone `max(id)` or `min(id)` from the end of the
    // b-tree but scans the whole table for `max(id) - min(id)` in one SELECT.
    let rows: Option<i64> = conn
        .query_row(
            &format!(
                "SELECT (SELECT max({id}) FROM {table}) - (SELECT min({id}) FROM {table}) + 1"
            ),
            [],
            |row| row.get(0),
        )
        .or_else(|_| Ok::<_, rusqlite::Error>(None))?;
    ends.rows = rows.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);

    let Some(first_raw) = one(&sql_plausible(&ts), "ASC")? else {
        return Ok(ends);
    };
    let Some(unit) = TimeUnit::of_raw(first_raw) else {
        return Ok(ends);
    };
    ends.unit = Some(unit);
    ends.first = unit.to_millis(first_raw);
    ends.last = one(&unit.sql_valid(&ts), "DESC")?.and_then(|raw| unit.to_millis(raw));
    Ok(ends)
}

/// A timestamp value as stored, if it is a number.
pub(crate) fn raw_of(value: rusqlite::types::ValueRef<'_>) -> Option<Raw> {
    match value {
        rusqlite::types::ValueRef::Integer(v) => Some(Raw::Int(v)),
        rusqlite::types::ValueRef::Real(v) => Some(Raw::Real(v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_everything_odd() {
        assert_eq!(
            file_uri(Path::new("/d/a b?#%.db"), "mode=ro"),
            "file:/d/a%20b%3F%23%25.db?mode=ro"
        );
        assert_eq!(
            file_uri(Path::new("//x/y.db"), "immutable=1"),
            "file:////x/y.db?immutable=1"
        );
    }
}
