//! The queries that read a recording: each table up to its cut, in pieces where its `id` is
//! the rowid, the book split into ranges of ids for two threads (SPEC 2.1, 4).

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use rusqlite::Connection;
use rusqlite::types::Value;

use super::Recording;
use super::connection::fail;
use super::decode::BookDecoder;
use super::fetch::Resume;
use super::guard;
use super::schema::{quote, seeks_by_rowid};
use super::time_sql::millis_key;
use crate::engine::Level;
use crate::source::TimeUnit;
use crate::source::record::FileError;

/// What the reading threads need, all owned.
pub(super) struct Plan {
    pub(super) path: PathBuf,
    pub(super) instrument: String,
    pub(super) book: Option<BookPlan>,
    pub(super) trades: Option<TradePlan>,
}

pub(super) struct BookPlan {
    pub(super) sql: String,
    /// Where `sql` resumes, for a table read in pieces.
    pub(super) resume: Resume,
    /// The parameters of `sql` (the instrument, the ids it reads between).
    pub(super) params: Vec<Value>,
    /// The same query for one range of ids, its last two parameters (`after < id < to`); only
    /// for a table read in pieces.
    pub(super) range_sql: String,
    /// The smallest id, and the cut (the largest id when reading began).
    pub(super) first_id_sql: String,
    pub(super) cut: Option<i64>,
    pub(super) unit: Option<TimeUnit>,
    pub(super) has_action: bool,
    pub(super) filtered: bool,
}

pub(super) struct TradePlan {
    pub(super) by_id: String,
    pub(super) by_time: String,
    /// The ids and valid timestamps in `id` order, to find out whether the table is in time
    /// order; its parameter number `resume` is the id it starts after.
    pub(super) check: String,
    /// Where `by_id` and `check` resume (the index of their `id > ?` parameter), for a table
    /// read in pieces.
    pub(super) resume: Resume,
    /// The parameters of `by_id`, `by_time` and `check`.
    pub(super) params: Vec<Value>,
    /// For a table read in pieces, the statements that copy the trades up to the cut into a
    /// temporary table, a range of ids at a time, and read them back in time order: a sort of
    /// the table itself would hold SQLite's lock for the whole sort.
    pub(super) copy: Option<CopyPlan>,
    pub(super) unit: Option<TimeUnit>,
}

pub(super) struct CopyPlan {
    pub(super) create: String,
    /// Copies the rows `?after < id <= ?upto` (the last two parameters).
    pub(super) fill: String,
    pub(super) by_time: String,
    pub(super) first_id_sql: String,
    pub(super) cut: i64,
}

/// The largest `id` of each table read in pieces, both read in one statement, so in one
/// transaction: the rows a stream reads (see the module's documentation).
pub(super) fn take_cut(
    conn: &Connection,
    recording: &Recording,
) -> rusqlite::Result<(Option<i64>, Option<i64>)> {
    let max = |keyed: bool, table: Option<(&String, &String)>| match (keyed, table) {
        (true, Some((table, id))) => format!("(SELECT max({}) FROM {})", quote(id), quote(table)),
        _ => "NULL".to_owned(),
    };
    let sql = format!(
        "SELECT {}, {}",
        max(
            recording.book_keyed,
            recording.book.as_ref().map(|c| (&c.table, &c.id))
        ),
        max(
            recording.trades_keyed,
            recording.trades.as_ref().map(|c| (&c.table, &c.id))
        ),
    );
    guard::touch();
    conn.query_row(&sql, [], |row| Ok((row.get(0)?, row.get(1)?)))
}

impl Plan {
    /// The queries of `recording`, up to the cut taken on `conn`.
    pub(super) fn new(recording: &Recording, conn: &Connection) -> Result<Plan, FileError> {
        let info = recording.info();
        let (book_cut, trades_cut) =
            take_cut(conn, recording).map_err(fail(&recording.path, "starting to read"))?;
        let instrument = recording.instrument.clone();
        // The instrument (when the table has its column), then, for a table read in pieces,
        // the ids read between: `?after < id <= ?cut`.
        let bind = |filtered: bool, cut: Option<i64>| -> (Vec<Value>, Resume) {
            let mut params = Vec::new();
            if filtered {
                params.push(Value::Text(instrument.clone()));
            }
            let resume = cut.map(|cut| {
                params.extend([Value::Integer(i64::MIN), Value::Integer(cut)]);
                params.len() - 2
            });
            (params, resume)
        };
        // The WHERE clause: the instrument, and the ids for a table read in pieces.
        let condition = |col: &Option<String>, id: &str, keyed: bool, first: usize| {
            let mut parts = Vec::new();
            if let Some(col) = col {
                parts.push(same_instrument(col));
            }
            if keyed {
                parts.push(format!("{id} > ?{} AND {id} <= ?{}", first, first + 1));
            }
            if parts.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", parts.join(" AND "))
            }
        };
        let book = recording.book.as_ref().map(|c| {
            let action = match &c.action {
                Some(a) => format!(", {}", quote(a)),
                None => String::new(),
            };
            let (id, table) = (quote(&c.id), quote(&c.table));
            let select = format!(
                "SELECT {id}, {}, {}, {}{action} FROM {table}",
                quote(&c.timestamp),
                quote(&c.bids),
                quote(&c.asks),
            );
            let filtered = c.instrument.is_some();
            let first = if filtered { 2 } else { 1 };
            let (params, resume) = bind(filtered, book_cut);
            let range = format!("{id} > ?{} AND {id} < ?{}", first, first + 1);
            let range_filter = match &c.instrument {
                Some(col) => format!(" WHERE {} AND {range}", same_instrument(col)),
                None => format!(" WHERE {range}"),
            };
            BookPlan {
                sql: format!(
                    "{select}{} ORDER BY {id}",
                    condition(&c.instrument, &id, book_cut.is_some(), first)
                ),
                resume,
                params,
                range_sql: format!("{select}{range_filter} ORDER BY {id}"),
                first_id_sql: format!("SELECT min({id}) FROM {table}"),
                cut: book_cut,
                unit: info.book_unit,
                has_action: c.action.is_some(),
                filtered,
            }
        });
        let trades = recording.trades.as_ref().map(|c| {
            let (id, ts, table) = (quote(&c.id), quote(&c.timestamp), quote(&c.table));
            let filtered = c.instrument.is_some();
            let first = if filtered { 2 } else { 1 };
            let keyed = trades_cut.is_some();
            let (params, resume) = bind(filtered, trades_cut);
            let columns = format!(
                "{id}, {ts}, {}, {}, {}",
                quote(&c.price),
                quote(&c.size),
                quote(&c.side)
            );
            let select = format!(
                "SELECT {columns} FROM {table}{}",
                condition(&c.instrument, &id, keyed, first)
            );
            let unit = info.trades_unit;
            let key = |ts: &str| millis_key(unit.unwrap_or(TimeUnit::Millis), ts);
            let copy = trades_cut.map(|cut| CopyPlan {
                create: format!(
                    "DROP TABLE IF EXISTS temp.orderflow_trades;
                     CREATE TEMP TABLE orderflow_trades AS
                     SELECT {id} AS id, {ts} AS ts, {}, {}, {} FROM {table} WHERE 0",
                    quote(&c.price),
                    quote(&c.size),
                    quote(&c.side)
                ),
                fill: format!("INSERT INTO temp.orderflow_trades {select}"),
                by_time: format!(
                    "SELECT * FROM temp.orderflow_trades ORDER BY {}, id",
                    key("ts")
                ),
                first_id_sql: format!("SELECT min({id}) FROM {table}"),
                cut,
            });
            TradePlan {
                by_id: format!("{select} ORDER BY {id}"),
                by_time: format!("{select} ORDER BY {}, {id}", key(&ts)),
                // Invalid timestamps are skipped in Rust, by the same test the decoder uses;
                // testing them in SQL as well made this pass a third slower.
                check: format!(
                    "SELECT {id}, {ts} FROM {table}{} ORDER BY {id}",
                    condition(&c.instrument, &id, keyed, first)
                ),
                resume,
                params,
                copy,
                unit,
            }
        });
        Ok(Plan {
            path: recording.path.clone(),
            instrument: recording.instrument.clone(),
            book,
            trades,
        })
    }
}

/// The condition that a row's instrument column `col` names the instrument `?1`, in any case.
///
/// The exact comparison comes first: recorders write the instrument as it is asked for, and
/// SQLite then skips the case-insensitive one, which cost a tenth of the order check of the
/// trades (the two give the same rows: equal text is equal in any case).
pub(super) fn same_instrument(col: &str) -> String {
    let col = quote(col);
    format!("({col} = ?1 OR {col} = ?1 COLLATE NOCASE)")
}

/// Ids per range when the book is read by two threads (see [`BookPlan::ranges`]): about 9 k
/// levels of a typical update stream, under a millisecond of reading.
pub(super) const RANGE_IDS: i64 = 512;

impl BookPlan {
    /// The ranges of ids `from..to` that split the book between two reading threads, which
    /// take them in turn from a queue (see [`Ranges`]); `None` when one thread reads it.
    ///
    /// Reading the book (SQLite's work and parsing the level text) is the largest stage of a
    /// run, about half of its CPU time, so with one thread it sets the pace and the second
    /// core idles whenever the engine waits for it. Two threads share it only where that is
    /// safe and cheap:
    /// - the table is read in pieces up to a cut: both connections see the same rows;
    /// - the table says whether each row is a snapshot (an `action` column): without one the
    ///   first valid row of the file is the snapshot, which only a single pass knows;
    /// - `id` is the table's rowid, so each range is a seek and not a scan (checked with
    ///   `EXPLAIN QUERY PLAN`);
    /// - there are at least four ranges, and a second core to run on.
    pub(super) fn ranges(&self, conn: &Connection, plan: &Plan) -> Option<Vec<(i64, i64)>> {
        let last = self.cut?;
        if !self.has_action || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return None;
        }
        guard::touch();
        let first: Option<i64> = conn
            .query_row(&self.first_id_sql, [], |row| row.get(0))
            .ok()?;
        let first = first?;
        if last.checked_sub(first)? < 4 * RANGE_IDS {
            return None;
        }
        let mut params = plan.instrument_params(self.filtered);
        params.extend([Value::Integer(0), Value::Integer(1)]);
        if !seeks_by_rowid(conn, &self.range_sql, &params) {
            return None;
        }
        // Each range reads `after < id < to`; the last one ends at the cut.
        let ranges = (first..=last)
            .step_by(RANGE_IDS as usize)
            .map(|from| {
                (
                    from.saturating_sub(1),
                    from.saturating_add(RANGE_IDS).min(last + 1),
                )
            })
            .collect();
        Some(ranges)
    }

    pub(super) fn decoder(&self, recycled: Option<Receiver<Vec<Vec<Level>>>>) -> BookDecoder {
        BookDecoder {
            unit: self.unit,
            has_action: self.has_action,
            seen_valid: false,
            scratch: Vec::new(),
            recycled,
            stash: Vec::new(),
        }
    }
}

impl Plan {
    /// The instrument, when the table has an instrument column: the first parameter of
    /// every query.
    pub(super) fn instrument_params(&self, filtered: bool) -> Vec<Value> {
        if filtered {
            vec![Value::Text(self.instrument.clone())]
        } else {
            vec![]
        }
    }
}
