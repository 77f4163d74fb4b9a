//! The queries that read a recording: each table up to its cut, in pieces where its `id` is
//! the rowid, the book split into ranges of ids for two threads (SPEC 2.1, 4).

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use super::connection::fail;
use super::decode::BookDecoder;
use super::guard;
use super::pages::Direct;
use super::recording::Recording;
use super::schema::{quote, seeks_by_rowid};
use super::time_sql::millis_key;
use crate::engine::Level;
use crate::source::parse::timestamp::TimeUnit;
use crate::source::record::FileError;

/// What reading a recording needs, all owned (the reading threads share it).
pub(super) struct Plan {
    pub(super) path: PathBuf,
    pub(super) instrument: String,
    pub(super) book: Option<BookPlan>,
    pub(super) trades: Option<TradePlan>,
}

/// A query read in pieces: it reads the rows after a key, in key order, and is run again
/// after the last key read (`fetch.rs`, `inline.rs`).
#[derive(Debug, Clone)]
pub(super) struct Pieces {
    pub(super) sql: String,
    /// Its parameters; the one at `resume.after` is the key it reads after.
    pub(super) params: Vec<Value>,
    pub(super) resume: Resume,
    /// The last key to read (the cut), where the query itself does not stop there: the
    /// reader stops at the first row past it.
    pub(super) until: Option<i64>,
    /// The same query answered from the table's pages, where it can be (`pages.rs`).
    pub(super) direct: Option<Direct>,
}

/// Where a query read in pieces resumes: its parameter number `from` is the first key it
/// reads (the key after the last one read, so that every key down to `i64::MIN` and up to
/// `i64::MAX` can be read), and its column number `key` the key of each row (the `id` of a
/// table keyed by its rowid, the rowid of a temporary copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Resume {
    pub(super) from: usize,
    pub(super) key: usize,
}

impl Resume {
    /// Sets `params` to read the rows after key `last`; false when there can be none.
    pub(super) fn after(self, params: &mut [Value], last: i64) -> bool {
        match last.checked_add(1) {
            Some(next) => {
                params[self.from] = Value::Integer(next);
                true
            }
            None => false,
        }
    }
}

pub(super) struct BookPlan {
    /// For a table whose `id` is not its rowid: its copy into a temporary table of the
    /// reading connection, in `id` order, made before it is read.
    pub(super) copy: Option<Copy>,
    pub(super) read: Pieces,
    /// The same query for one range of ids, its last two parameters (`from <= id <= upto`); only
    /// for a table keyed by its rowid.
    pub(super) range_sql: String,
    /// The same from the table's pages (`pages.rs`).
    pub(super) range_direct: Option<Direct>,
    /// The smallest id, and the cut (the largest id when reading began).
    pub(super) first_id_sql: String,
    pub(super) cut: Option<i64>,
    pub(super) unit: Option<TimeUnit>,
    pub(super) has_action: bool,
    /// Whether the query selects `seqId` and `prevSeqId` (after the action, if any).
    pub(super) has_seq: bool,
    pub(super) filtered: bool,
}

pub(super) struct TradePlan {
    /// For a table whose `id` is not its rowid: its copy into
    /// `temp.orderflow_trades_by_id`, in `id` order, made before it is read or checked.
    pub(super) copy: Option<Copy>,
    /// The trades in `id` order.
    pub(super) by_id: Pieces,
    /// Their ids and timestamps in `id` order, to find out whether the table is in time
    /// order (invalid timestamps are skipped in Rust, by the same test the decoder uses).
    /// It may read past the cut: a row committed since that is out of order only makes the
    /// trades be sorted.
    pub(super) check: Pieces,
    /// The same up to the cut: what a read that trusted the order has left unread.
    pub(super) unread: Pieces,
    /// How they are sorted when they are not in time order.
    pub(super) sort: SortPlan,
    /// Whether the table is keyed by its rowid: only then can its order be trusted (the
    /// trades left unread are those after the last id read).
    pub(super) keyed: bool,
    pub(super) unit: Option<TimeUnit>,
}

/// Sorting the trades without holding SQLite's lock on the file while it sorts: they are
/// copied into a temporary table (a range of ids per statement, up to the cut), and sorted
/// from there into another, read by its rowid.
pub(super) struct SortPlan {
    /// The copy into `temp.orderflow_trades_by_id`, unless [`TradePlan::copy`] made it.
    pub(super) fill: Option<Fill>,
    pub(super) sort: Copy,
    pub(super) read: Pieces,
}

/// A temporary table of the reading connection, made by one statement.
pub(super) struct Copy {
    pub(super) table: &'static str,
    /// `CREATE TEMP TABLE table AS SELECT …`.
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
}

/// Copies the rows of a keyed table up to its cut into a temporary table, a range of ids at
/// a time.
pub(super) struct Fill {
    /// The empty table.
    pub(super) create: Copy,
    /// Copies the rows `?from <= id <= ?upto` (its last two parameters).
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
    /// The id [`FILL_ROWS`] rows on from `?1`, up to `?2`: where a statement's copy ends, so
    /// that each copies a bounded number of rows however the ids are spread.
    pub(super) upto_sql: String,
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
        let cuts = take_cut(conn, recording).map_err(fail(&recording.path, "starting to read"))?;
        Ok(Plan::with_cuts(recording, cuts))
    }

    /// The queries of `recording` up to the cuts given; a table without a cut (one not keyed
    /// by its rowid, or empty) is copied into a temporary table first.
    pub(super) fn with_cuts(
        recording: &Recording,
        (book_cut, trades_cut): (Option<i64>, Option<i64>),
    ) -> Plan {
        let info = recording.info();
        let instrument = Value::Text(recording.instrument.clone());
        // The parameters: the instrument (when the table has its column), then, for a table
        // keyed by its rowid, the id read after and, with `upto`, the cut (`?after < id <=
        // ?cut`). A read that decodes its rows stops at the cut itself ([`Pieces::until`]):
        // testing it in SQL cost two more opcodes a row.
        let bind = |filtered: bool, upto: Option<i64>| -> (Vec<Value>, Resume) {
            let mut params = Vec::new();
            if filtered {
                params.push(instrument.clone());
            }
            let from = params.len();
            params.push(Value::Integer(i64::MIN));
            params.extend(upto.map(Value::Integer));
            (params, Resume { from, key: 0 })
        };
        // The WHERE clause: the instrument, and for a table keyed by its rowid the ids
        // (`Some(false)`: after an id; `Some(true)`: after an id and up to the cut).
        let condition = |col: &Option<String>, id: &str, keyed: Option<bool>| {
            let mut parts = Vec::new();
            if let Some(col) = col {
                parts.push(same_instrument(col));
            }
            let first = if col.is_some() { 2 } else { 1 };
            match keyed {
                Some(true) => parts.push(format!("{id} >= ?{} AND {id} <= ?{}", first, first + 1)),
                Some(false) => parts.push(format!("{id} >= ?{first}")),
                None => {}
            }
            if parts.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", parts.join(" AND "))
            }
        };
        // A copy in a temporary table, read after its rowid (the last column).
        let from_copy = |columns: &str, table: &str, key: usize| Pieces {
            sql: format!(
                "SELECT {columns}, rowid FROM temp.{table} WHERE rowid >= ?1 ORDER BY rowid"
            ),
            params: vec![Value::Integer(0)],
            resume: Resume { from: 0, key },
            until: None,
            direct: None,
        };
        let instrument_only = |filtered: bool| {
            if filtered {
                vec![instrument.clone()]
            } else {
                vec![]
            }
        };
        // A copy of a table whose `id` is not its rowid, in `id` order.
        let copy = |table: &'static str, select: String| Copy {
            table,
            sql: format!("CREATE TEMP TABLE {table} AS {select}"),
            params: Vec::new(),
        };
        let book = recording.book.as_ref().map(|c| {
            let action = match &c.action {
                Some(a) => format!(", {} AS action", quote(a)),
                None => String::new(),
            };
            // The message numbers (SPEC 10.2), after the action when there is one.
            let seq_columns = c.seq_id.as_ref().zip(c.prev_seq_id.as_ref());
            let seq = match seq_columns {
                Some((seq, prev)) => {
                    format!(", {} AS seq_id, {} AS prev_seq_id", quote(seq), quote(prev))
                }
                None => String::new(),
            };
            let (id, table) = (quote(&c.id), quote(&c.table));
            let columns = format!(
                "{id} AS id, {} AS ts, {} AS bids, {} AS asks{action}{seq}",
                quote(&c.timestamp),
                quote(&c.bids),
                quote(&c.asks),
            );
            let select = format!("SELECT {columns} FROM {table}");
            let filtered = c.instrument.is_some();
            let first = if filtered { 2 } else { 1 };
            let range = format!("{id} >= ?{} AND {id} <= ?{}", first, first + 1);
            let range_filter = match &c.instrument {
                Some(col) => format!(" WHERE {} AND {range}", same_instrument(col)),
                None => format!(" WHERE {range}"),
            };
            // The same from the table's pages: the columns in the select's order.
            let direct = |upto: Option<usize>| {
                let mut columns = vec![c.id.clone(), c.timestamp.clone(), c.bids.clone()];
                columns.push(c.asks.clone());
                columns.extend(c.action.clone());
                if let Some((seq, prev)) = seq_columns {
                    columns.extend([seq.clone(), prev.clone()]);
                }
                Direct {
                    table: c.table.clone(),
                    columns,
                    instrument: c.instrument.clone().zip(Some(recording.instrument.clone())),
                    upto,
                }
            };
            let (copy, read) = match book_cut {
                Some(cut) => {
                    let (params, resume) = bind(filtered, None);
                    let sql = format!(
                        "{select}{} ORDER BY {id}",
                        condition(&c.instrument, &id, Some(false))
                    );
                    (
                        None,
                        Pieces {
                            sql,
                            params,
                            resume,
                            until: Some(cut),
                            direct: Some(direct(None)),
                        },
                    )
                }
                None => {
                    let mut columns = String::from("id, ts, bids, asks");
                    if c.action.is_some() {
                        columns.push_str(", action");
                    }
                    if seq_columns.is_some() {
                        columns.push_str(", seq_id, prev_seq_id");
                    }
                    let key = columns.split(',').count();
                    let copy = Copy {
                        params: instrument_only(filtered),
                        ..copy(
                            "orderflow_book",
                            format!(
                                "{select}{} ORDER BY {id}",
                                condition(&c.instrument, &id, None)
                            ),
                        )
                    };
                    (Some(copy), from_copy(&columns, "orderflow_book", key))
                }
            };
            BookPlan {
                copy,
                read,
                range_sql: format!("{select}{range_filter} ORDER BY {id}"),
                range_direct: book_cut.map(|_| direct(Some(first))),
                first_id_sql: format!("SELECT min({id}) FROM {table}"),
                cut: book_cut,
                unit: info.book_unit,
                has_action: c.action.is_some(),
                has_seq: seq_columns.is_some(),
                filtered,
            }
        });
        let trades = recording.trades.as_ref().map(|c| {
            let (id, ts, table) = (quote(&c.id), quote(&c.timestamp), quote(&c.table));
            let filtered = c.instrument.is_some();
            let select = |condition: String| {
                format!(
                    "SELECT {id} AS id, {ts} AS ts, {} AS price, {} AS size, {} AS side FROM {table}{condition}",
                    quote(&c.price),
                    quote(&c.size),
                    quote(&c.side),
                )
            };
            let unit = info.trades_unit;
            let key = millis_key(unit.unwrap_or(TimeUnit::Millis), "\"ts\"");
            let columns = "id, ts, price, size, side";
            let sort = |fill: Option<Fill>| SortPlan {
                fill,
                sort: copy(
                    "orderflow_trades_by_time",
                    format!("SELECT * FROM temp.orderflow_trades_by_id ORDER BY {key}, id"),
                ),
                read: from_copy(columns, "orderflow_trades_by_time", 5),
            };
            match trades_cut {
                Some(cut) => {
                    let (params, resume) = bind(filtered, Some(cut));
                    let keyed_condition = condition(&c.instrument, &id, Some(true));
                    let (by_id_params, _) = bind(filtered, None);
                    let fill = Fill {
                        create: copy(
                            "orderflow_trades_by_id",
                            format!("{} WHERE 0", select(String::new())),
                        ),
                        sql: format!(
                            "INSERT INTO temp.orderflow_trades_by_id {}",
                            select(keyed_condition.clone())
                        ),
                        params: params.clone(),
                        upto_sql: format!(
                            "SELECT {id} FROM {table} WHERE {id} >= ?1 AND {id} <= ?2 \
                             ORDER BY {id} LIMIT 1 OFFSET {}",
                            FILL_ROWS - 1
                        ),
                        cut,
                    };
                    let direct = Direct {
                        table: c.table.clone(),
                        columns: [&c.id, &c.timestamp, &c.price, &c.size, &c.side]
                            .map(String::clone)
                            .to_vec(),
                        instrument: c.instrument.clone().zip(Some(recording.instrument.clone())),
                        upto: None,
                    };
                    TradePlan {
                        copy: None,
                        by_id: Pieces {
                            sql: format!(
                                "{} ORDER BY {id}",
                                select(condition(&c.instrument, &id, Some(false)))
                            ),
                            params: by_id_params.clone(),
                            resume,
                            until: Some(cut),
                            direct: Some(direct.clone()),
                        },
                        check: Pieces {
                            sql: format!(
                                "SELECT {id}, {ts} FROM {table}{} ORDER BY {id}",
                                condition(&c.instrument, &id, Some(false))
                            ),
                            params: by_id_params.clone(),
                            resume,
                            until: None,
                            direct: Some(Direct {
                                columns: direct.columns[..2].to_vec(),
                                ..direct.clone()
                            }),
                        },
                        unread: Pieces {
                            sql: format!(
                                "SELECT {id}, {ts} FROM {table}{keyed_condition} ORDER BY {id}"
                            ),
                            params,
                            resume,
                            until: None,
                            direct: Some(Direct {
                                columns: direct.columns[..2].to_vec(),
                                upto: Some(resume.from + 1),
                                ..direct.clone()
                            }),
                        },
                        sort: sort(Some(fill)),
                        keyed: true,
                        unit,
                    }
                }
                None => {
                    let copy = Copy {
                        params: instrument_only(filtered),
                        ..copy(
                            "orderflow_trades_by_id",
                            format!(
                                "{} ORDER BY {id}",
                                select(condition(&c.instrument, &id, None))
                            ),
                        )
                    };
                    TradePlan {
                        copy: Some(copy),
                        by_id: from_copy(columns, "orderflow_trades_by_id", 5),
                        check: from_copy("id, ts", "orderflow_trades_by_id", 2),
                        unread: from_copy("id, ts", "orderflow_trades_by_id", 2),
                        sort: sort(None),
                        keyed: false,
                        unit,
                    }
                }
            }
        });
        Plan {
            path: recording.path.clone(),
            instrument: recording.instrument.clone(),
            book,
            trades,
        }
    }
}

impl Copy {
    /// Makes the table on `conn`, replacing one of the same name.
    pub(super) fn run(&self, conn: &Connection) -> rusqlite::Result<()> {
        temp_writes(conn, || {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS temp.{}", self.table))?;
            guard::touch();
            conn.execute(&self.sql, rusqlite::params_from_iter(&self.params))?;
            Ok(())
        })
    }
}

/// Rows copied per statement when a table is copied up to its cut: a few milliseconds.
const FILL_ROWS: i64 = 16_384;

impl Fill {
    /// Copies the rows up to the cut, a range of ids per statement, so that SQLite's lock on
    /// the file is only held for short moments.
    pub(super) fn run(&self, conn: &Connection) -> rusqlite::Result<()> {
        self.create.run(conn)?;
        temp_writes(conn, || {
            let mut fill = conn.prepare(&self.sql)?;
            let mut upto_of = conn.prepare(&self.upto_sql)?;
            let mut params = self.params.clone();
            let at = params.len() - 2;
            let mut from = i64::MIN;
            while from <= self.cut {
                guard::touch();
                let upto = upto_of
                    .query_row([from, self.cut], |row| row.get::<_, i64>(0))
                    .optional()?
                    .unwrap_or(self.cut);
                params[at] = Value::Integer(from);
                params[at + 1] = Value::Integer(upto);
                guard::touch();
                fill.execute(rusqlite::params_from_iter(&params))?;
                let Some(next) = upto.checked_add(1) else {
                    break;
                };
                from = next;
            }
            Ok(())
        })
    }
}

/// Runs `write` with writes allowed on `conn`: its temporary tables only, since it is opened
/// read-only (`query_only` is a second guard, lifted for this).
fn temp_writes(
    conn: &Connection,
    write: impl FnOnce() -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA query_only = OFF")?;
    let written = write();
    conn.execute_batch("PRAGMA query_only = ON")?;
    written
}

/// The condition that a row's instrument column `col` names the instrument `?1`, in any case.
///
/// The exact comparison comes first: recorders write the instrument as it is asked for, and
/// SQLite then skips the slower case-insensitive one (the two give the same rows: equal text
/// is equal in any case).
pub(super) fn same_instrument(col: &str) -> String {
    let col = quote(col);
    format!("({col} = ?1 OR {col} = ?1 COLLATE NOCASE)")
}

/// Ids per range when the book is read by two threads (see [`BookPlan::ranges`]): about 9 k
/// levels of a typical update stream, under a millisecond of reading.
pub(super) const RANGE_IDS: i64 = 512;

/// Most ranges a book is split into (about a year of a typical recorder's rows).
const MAX_RANGES: i64 = 1 << 20;

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
        // Ids spread far apart (a few rows over billions of ids) would make more ranges than
        // the book has rows: one thread reads such a book.
        let spread = last.checked_sub(first)?;
        if !(4 * RANGE_IDS..=MAX_RANGES * RANGE_IDS).contains(&spread) {
            return None;
        }
        let mut params = plan.instrument_params(self.filtered);
        params.extend([Value::Integer(0), Value::Integer(1)]);
        if !seeks_by_rowid(conn, &self.range_sql, &params) {
            return None;
        }
        // Each range reads `from <= id <= upto`; the last one ends at the cut.
        let ranges = (first..=last)
            .step_by(RANGE_IDS as usize)
            .map(|from| (from, from.saturating_add(RANGE_IDS - 1).min(last)))
            .collect();
        Some(ranges)
    }

    pub(super) fn decoder(&self, recycled: Option<Receiver<Vec<Vec<Level>>>>) -> BookDecoder {
        BookDecoder {
            unit: self.unit,
            has_action: self.has_action,
            seq_column: self.has_seq.then_some(if self.has_action { 5 } else { 4 }),
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
