//! A recording: opening it read-only and learning what it holds (its range, units and
//! tables) from a handful of indexed queries, never a scan (SPEC 1.1, 1.2, 1.4).

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::engine::Millis;

use super::connection::connect;
use super::decode::raw_of;
use super::schema::{self, BookColumns, MissingColumn, TradeColumns, quote};
use super::time_sql::{plausible, valid};
use crate::source::parse::timestamp::{Raw, TimeUnit};
use crate::source::record::{FileError, FileInfo, Table};

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
        let book = book_table
            .map(|table| schema::book_columns(&conn, &table))
            .transpose()
            .map_err(fail("reading the schema"))?
            .transpose()
            .map_err(missing)?;
        let trades = trades_table
            .map(|table| schema::trade_columns(&conn, &table))
            .transpose()
            .map_err(fail("reading the schema"))?
            .transpose()
            .map_err(missing)?;
        let book_cols = book
            .as_ref()
            .map(|c| (&c.table, &c.id, &c.timestamp, &c.instrument));
        let trade_cols = trades
            .as_ref()
            .map(|c| (&c.table, &c.id, &c.timestamp, &c.instrument));

        let mut warnings = Vec::new();
        // Whether a table is keyed by its rowid, and its ends; a missing table is said.
        let mut learn = |cols: Option<(&String, &String, &String, &Option<String>)>,
                         which: Table,
                         doing: &'static str,
                         missing: &str| {
            let Some((table, id, ts, instrument_col)) = cols else {
                warnings.push(missing.to_owned());
                return Ok((false, TableEnds::default()));
            };
            let keyed = keyed(&conn, path, which, table, id)?;
            let ends = table_ends(&conn, table, id, ts, instrument_col, instrument)
                .map_err(fail(doing))?;
            Ok::<_, FileError>((keyed, ends))
        };
        let (book_keyed, book_ends) = learn(
            book_cols,
            Table::Book,
            "reading the first and last book rows",
            "no `book` table: only trades are read (no order book, OBI or depth from this file)",
        )?;
        let (trades_keyed, trade_ends) = learn(
            trade_cols,
            Table::Trades,
            "reading the first and last trades",
            "no `trades` table: only book rows are read (no bars or CVD from this file)",
        )?;
        // A unit conversion is not a warning: the summary names it once, in its own list
        // (`FileSummary::unit_conversions`), from `book_unit` and `trades_unit`.

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
                valid(unit, &ts)
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
}

/// Other instruments named in [`Recording::other_instruments`].
const OTHER_INSTRUMENTS_NAMED: usize = 3;

impl Recording {
    /// For a file with no valid timestamp of the run's instrument: `None` when it holds rows
    /// of that instrument after all (their timestamps are all bad), else the instruments it
    /// holds instead (a few, by the `instrument` column; empty when its tables are empty).
    /// Each query may scan a table, as the search for the first valid row already did.
    ///
    /// # Errors
    /// [`FileError`] when the file cannot be read.
    pub fn other_instruments(&self) -> Result<Option<Vec<String>>, FileError> {
        let conn = connect(&self.path)?;
        let fail = |e| FileError::from_sqlite(&self.path, "listing the instruments", e);
        let tables = [
            self.book.as_ref().map(|c| (&c.table, &c.instrument)),
            self.trades.as_ref().map(|c| (&c.table, &c.instrument)),
        ];
        let mut others: Vec<String> = Vec::new();
        for (table, column) in tables.into_iter().flatten() {
            let table = quote(table);
            let Some(column) = column else {
                // Without the column, every row is the file's instrument.
                let any = format!("SELECT EXISTS (SELECT 1 FROM {table})");
                if conn.query_row(&any, [], |row| row.get(0)).map_err(fail)? {
                    return Ok(None);
                }
                continue;
            };
            let column = quote(column);
            let mine =
                format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = ?1 COLLATE NOCASE)");
            if conn
                .query_row(&mine, [&self.instrument], |row| row.get(0))
                .map_err(fail)?
            {
                return Ok(None);
            }
            let listed = format!(
                "SELECT DISTINCT CAST({column} AS TEXT) FROM {table} LIMIT {}",
                OTHER_INSTRUMENTS_NAMED + 1
            );
            let mut stmt = conn.prepare(&listed).map_err(fail)?;
            let names = stmt
                .query_map([], |row| row.get::<_, Option<String>>(0))
                .map_err(fail)?;
            for name in names {
                let name = name.map_err(fail)?.unwrap_or_else(|| "NULL".to_owned());
                if !others.iter().any(|other| other.eq_ignore_ascii_case(&name)) {
                    others.push(name);
                }
            }
        }
        Ok(Some(others))
    }
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

    let Some(first_raw) = one(&plausible(&ts), "ASC")? else {
        return Ok(ends);
    };
    let Some(unit) = TimeUnit::of_raw(first_raw) else {
        return Ok(ends);
    };
    ends.unit = Some(unit);
    ends.first = unit.to_millis(first_raw);
    ends.last = one(&valid(unit, &ts), "DESC")?.and_then(|raw| unit.to_millis(raw));
    Ok(ends)
}
