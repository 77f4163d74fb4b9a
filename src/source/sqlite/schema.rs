//! Which tables and columns a recording has (SPEC 1.2), found through `PRAGMA table_info`.
//!
//! Names match case-insensitively and several aliases are accepted; the SQL built from them
//! quotes every identifier, so odd column names cannot change a query.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::source::record::Table;

/// The columns of a `book` table, as named in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookColumns {
    /// The table's own name (case as in the file).
    pub table: String,
    pub id: String,
    pub timestamp: String,
    pub bids: String,
    pub asks: String,
    pub instrument: Option<String>,
    pub action: Option<String>,
    /// The message numbers (SPEC 10.2), used only when the table has both.
    pub seq_id: Option<String>,
    pub prev_seq_id: Option<String>,
}

/// The columns of a `trades` table, as named in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeColumns {
    pub table: String,
    pub id: String,
    pub timestamp: String,
    pub price: String,
    pub size: String,
    pub side: String,
    pub instrument: Option<String>,
}

/// A required column that a table lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingColumn {
    pub table: Table,
    /// The column, with its accepted aliases, e.g. "`timestamp` (or `ts`)".
    pub column: &'static str,
    /// What the table should look like.
    pub expected: &'static str,
}

const BOOK_EXPECTED: &str = "book(id INTEGER PRIMARY KEY, timestamp INTEGER, bids TEXT, asks TEXT[, instrument TEXT][, action TEXT][, seqId INTEGER, prevSeqId INTEGER])";
const TRADES_EXPECTED: &str = "trades(id INTEGER PRIMARY KEY, timestamp INTEGER, price REAL, size REAL, side TEXT[, trade_id][, instrument TEXT])";

const INSTRUMENT: [&str; 3] = ["instrument", "instId", "symbol"];

/// `"name"` with inner quotes doubled: a SQL identifier that means exactly `name`.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The table called `name` (any case), as spelled in the file.
///
/// # Errors
/// SQLite errors (not a database, corrupt, locked) from reading the schema.
pub fn find_table(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
         AND name = ?1 COLLATE NOCASE ORDER BY name = ?1 DESC LIMIT 1",
    )?;
    let mut rows = stmt.query([name])?;
    match rows.next()? {
        Some(row) => Ok(Some(row.get(0)?)),
        None => Ok(None),
    }
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |row| row.get::<_, String>(0))?;
    names.collect()
}

/// The first of `aliases` (in their order of preference) that `names` holds, as spelled there.
fn pick(names: &[String], aliases: &[&str]) -> Option<String> {
    aliases.iter().find_map(|alias| {
        names
            .iter()
            .find(|name| name.eq_ignore_ascii_case(alias))
            .cloned()
    })
}

/// The columns of the book table `table`.
///
/// # Errors
/// The outer error is SQLite's; the inner one names a missing required column.
pub fn book_columns(
    conn: &Connection,
    table: &str,
) -> rusqlite::Result<Result<BookColumns, MissingColumn>> {
    let names = columns(conn, table)?;
    let need = |aliases: &[&str], column: &'static str| {
        pick(&names, aliases).ok_or(MissingColumn {
            table: Table::Book,
            column,
            expected: BOOK_EXPECTED,
        })
    };
    Ok((|| {
        Ok(BookColumns {
            table: table.to_owned(),
            id: need(&["id"], "`id`")?,
            timestamp: need(&["timestamp", "ts"], "`timestamp` (or `ts`)")?,
            bids: need(&["bids"], "`bids`")?,
            asks: need(&["asks"], "`asks`")?,
            instrument: pick(&names, &INSTRUMENT),
            action: pick(&names, &["action"]),
            seq_id: pick(&names, &["seqId", "seq_id"]),
            prev_seq_id: pick(&names, &["prevSeqId", "prev_seq_id"]),
        })
    })())
}

/// The columns of the trades table `table`. `trade_id` is not required: nothing uses it.
///
/// # Errors
/// The outer error is SQLite's; the inner one names a missing required column.
pub fn trade_columns(
    conn: &Connection,
    table: &str,
) -> rusqlite::Result<Result<TradeColumns, MissingColumn>> {
    let names = columns(conn, table)?;
    let need = |aliases: &[&str], column: &'static str| {
        pick(&names, aliases).ok_or(MissingColumn {
            table: Table::Trades,
            column,
            expected: TRADES_EXPECTED,
        })
    };
    Ok((|| {
        Ok(TradeColumns {
            table: table.to_owned(),
            id: need(&["id"], "`id`")?,
            timestamp: need(
                &["timestamp", "ts", "timestamp_ms"],
                "`timestamp` (or `ts`, `timestamp_ms`)",
            )?,
            price: need(&["price"], "`price`")?,
            size: need(&["size"], "`size`")?,
            side: need(&["side"], "`side`")?,
            instrument: pick(&names, &INSTRUMENT),
        })
    })())
}

/// Whether SQLite runs `sql` as a seek on the rowid (its plan says so): then its `id` is the
/// table's rowid, a unique integer, and a condition on it skips straight to the rows.
pub fn seeks_by_rowid(conn: &Connection, sql: &str, params: &[Value]) -> bool {
    let Ok(mut explain) = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) else {
        return false;
    };
    let Ok(details) = explain.query_map(rusqlite::params_from_iter(params), |row| {
        row.get::<_, String>(3)
    }) else {
        return false;
    };
    details
        .flatten()
        .any(|detail| detail.contains("INTEGER PRIMARY KEY"))
}

/// Whether the column `id` of `table` is the table's rowid.
pub fn id_is_rowid(conn: &Connection, table: &str, id: &str) -> bool {
    let (table, id) = (quote(table), quote(id));
    let sql = format!("SELECT {id} FROM {table} WHERE {id} > ?1 ORDER BY {id}");
    seeks_by_rowid(conn, &sql, &[Value::Integer(0)])
}

/// Whether every value of the column `id` of `table` is an integer (a scan of the table).
///
/// # Errors
/// SQLite errors from reading the table.
pub fn ids_are_integers(conn: &Connection, table: &str, id: &str) -> rusqlite::Result<bool> {
    let (table, id) = (quote(table), quote(id));
    let sql = format!("SELECT 1 FROM {table} WHERE typeof({id}) <> 'integer' LIMIT 1");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    Ok(rows.next()?.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("ts"), "\"ts\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn aliases_and_case() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE Book (ID INTEGER PRIMARY KEY, TS INTEGER, Bids TEXT, ASKS TEXT, instid TEXT);
             CREATE TABLE trades (id INTEGER PRIMARY KEY, timestamp_ms INTEGER, price REAL, size REAL, side TEXT);",
        )
        .unwrap();
        let table = find_table(&conn, "book").unwrap().unwrap();
        assert_eq!(table, "Book");
        let book = book_columns(&conn, &table).unwrap().unwrap();
        assert_eq!(
            (
                book.id.as_str(),
                book.timestamp.as_str(),
                book.instrument.as_deref(),
                book.action
            ),
            ("ID", "TS", Some("instid"), None)
        );
        assert_eq!((book.seq_id, book.prev_seq_id), (None, None));
        let trades = trade_columns(&conn, "trades").unwrap().unwrap();
        assert_eq!(trades.timestamp, "timestamp_ms");
        assert_eq!(find_table(&conn, "nothing").unwrap(), None);
    }

    #[test]
    fn message_numbers_in_either_spelling() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, ts INTEGER, bids TEXT, asks TEXT, SEQID INTEGER, prevSeqId INTEGER);
             CREATE TABLE b (id INTEGER PRIMARY KEY, ts INTEGER, bids TEXT, asks TEXT, seq_id INTEGER, Prev_Seq_Id INTEGER);",
        )
        .unwrap();
        let a = book_columns(&conn, "a").unwrap().unwrap();
        assert_eq!(
            (a.seq_id.as_deref(), a.prev_seq_id.as_deref()),
            (Some("SEQID"), Some("prevSeqId"))
        );
        let b = book_columns(&conn, "b").unwrap().unwrap();
        assert_eq!(
            (b.seq_id.as_deref(), b.prev_seq_id.as_deref()),
            (Some("seq_id"), Some("Prev_Seq_Id"))
        );
    }

    #[test]
    fn missing_column() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE trades (id INTEGER PRIMARY KEY, ts INTEGER, price REAL, side TEXT)",
        )
        .unwrap();
        let missing = trade_columns(&conn, "trades").unwrap().unwrap_err();
        assert_eq!((missing.table, missing.column), (Table::Trades, "`size`"));
    }
}
