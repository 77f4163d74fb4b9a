//! The repository: the only code that knows the store's SQL (SPEC 9.1). Typed methods write a
//! run's rows in transactions and read them back; the tables are made here when missing.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::records::{
    BarRecord, Batch, FootprintRecord, PrintRecord, RunRecord, RunStatus, Series, SignalRecord,
};
use crate::engine::{Bar, MetricBar, Millis, Ohlc, Side};

/// The `application_id` of an orderflow store (`OFLW`), how a file is known as one of ours.
pub const APPLICATION_ID: i32 = 0x4F46_4C57;

/// The tables (SPEC 9.1, and `prints` for `big_print` on stored data). Every key is the
/// table's primary key, so that a row replaces the row of its key.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bars(
    instrument TEXT NOT NULL, window_s INTEGER NOT NULL, ts INTEGER NOT NULL,
    open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,
    volume REAL NOT NULL, buy_volume REAL NOT NULL, sell_volume REAL NOT NULL,
    trades INTEGER NOT NULL,
    PRIMARY KEY (instrument, window_s, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_bars(
    instrument TEXT NOT NULL, window_s INTEGER NOT NULL, ts INTEGER NOT NULL,
    obi_open REAL NOT NULL, obi_high REAL NOT NULL, obi_low REAL NOT NULL, obi_close REAL NOT NULL,
    cvd_open REAL NOT NULL, cvd_high REAL NOT NULL, cvd_low REAL NOT NULL, cvd_close REAL NOT NULL,
    PRIMARY KEY (instrument, window_s, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS footprint(
    instrument TEXT NOT NULL, window_s INTEGER NOT NULL, ts INTEGER NOT NULL,
    price REAL NOT NULL, buy REAL NOT NULL, sell REAL NOT NULL,
    PRIMARY KEY (instrument, window_s, ts, price)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS prints(
    instrument TEXT NOT NULL, window_s INTEGER NOT NULL, ts INTEGER NOT NULL, seq INTEGER NOT NULL,
    side TEXT NOT NULL, vwap REAL NOT NULL, size REAL NOT NULL, trades INTEGER NOT NULL,
    PRIMARY KEY (instrument, window_s, ts, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signals(
    instrument TEXT NOT NULL, window_s INTEGER NOT NULL, ts INTEGER NOT NULL, name TEXT NOT NULL,
    price REAL, value REAL, detail TEXT);
CREATE INDEX IF NOT EXISTS signals_by_time ON signals(instrument, window_s, ts);
CREATE TABLE IF NOT EXISTS runs(
    id INTEGER PRIMARY KEY, instrument TEXT NOT NULL, range_start INTEGER NOT NULL,
    range_end INTEGER NOT NULL, window_s INTEGER NOT NULL, options TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL);
";

/// Footprint rows written by one `INSERT` (6 parameters each, far below SQLite's limit).
const FOOTPRINT_ROWS_PER_INSERT: usize = 50;

/// The tables that hold rows of a series, keyed by `ts`, which a run replaces in its range.
const SERIES_TABLES: [&str; 5] = ["bars", "metric_bars", "footprint", "prints", "signals"];

/// A store that cannot be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("writing the store: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A value of an exported cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// The type of a column, for the export's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Real,
    Text,
}

/// One column of a table, as the export writes it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
}

/// A table of the store, with its columns.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// Every column but `instrument` (the partition's), in order.
    pub columns: &'static [Column],
    /// The column whose UTC date is the partition's date.
    pub time_column: &'static str,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn nullable(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

/// Every table of the store, as exported.
pub const TABLES: [Table; 6] = [
    Table {
        name: "bars",
        time_column: "ts",
        columns: &[
            col("window_s", Kind::Int),
            col("ts", Kind::Int),
            col("open", Kind::Real),
            col("high", Kind::Real),
            col("low", Kind::Real),
            col("close", Kind::Real),
            col("volume", Kind::Real),
            col("buy_volume", Kind::Real),
            col("sell_volume", Kind::Real),
            col("trades", Kind::Int),
        ],
    },
    Table {
        name: "metric_bars",
        time_column: "ts",
        columns: &[
            col("window_s", Kind::Int),
            col("ts", Kind::Int),
            col("obi_open", Kind::Real),
            col("obi_high", Kind::Real),
            col("obi_low", Kind::Real),
            col("obi_close", Kind::Real),
            col("cvd_open", Kind::Real),
            col("cvd_high", Kind::Real),
            col("cvd_low", Kind::Real),
            col("cvd_close", Kind::Real),
        ],
    },
    Table {
        name: "footprint",
        time_column: "ts",
        columns: &[
            col("window_s", Kind::Int),
            col("ts", Kind::Int),
            col("price", Kind::Real),
            col("buy", Kind::Real),
            col("sell", Kind::Real),
        ],
    },
    Table {
        name: "prints",
        time_column: "ts",
        columns: &[
            col("window_s", Kind::Int),
            col("ts", Kind::Int),
            col("seq", Kind::Int),
            col("side", Kind::Text),
            col("vwap", Kind::Real),
            col("size", Kind::Real),
            col("trades", Kind::Int),
        ],
    },
    Table {
        name: "signals",
        time_column: "ts",
        columns: &[
            col("window_s", Kind::Int),
            col("ts", Kind::Int),
            col("name", Kind::Text),
            nullable("price", Kind::Real),
            nullable("value", Kind::Real),
            nullable("detail", Kind::Text),
        ],
    },
    Table {
        name: "runs",
        time_column: "range_start",
        columns: &[
            col("id", Kind::Int),
            col("range_start", Kind::Int),
            col("range_end", Kind::Int),
            col("window_s", Kind::Int),
            col("options", Kind::Text),
            col("started_at", Kind::Text),
            nullable("finished_at", Kind::Text),
            col("status", Kind::Text),
        ],
    },
];

/// A user rule's query (SPEC 9.2) that SQLite refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleSqlError {
    #[error("{0}")]
    Sql(#[from] rusqlite::Error),
    #[error("it changes the store; a rule may only read (SELECT or WITH ... SELECT)")]
    NotReadOnly,
    #[error("it returns no column named `ts`")]
    NoTs,
}

/// An open store.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens the store at `path`, creating the file and its tables when missing, in WAL mode.
    ///
    /// # Errors
    /// [`StoreError::Open`] when the file cannot be opened or made a store.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open = || -> rusqlite::Result<Store> {
            let conn = Connection::open(path)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            // The mark goes into the file's header before WAL mode, so that it is on disk
            // from the first moment, even if the run is killed before any checkpoint.
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            Store::prepare(conn)
        };
        open().map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })
    }

    /// Opens an existing store at `path` to read it (it is not created).
    ///
    /// # Errors
    /// [`StoreError::Open`] when it cannot be opened.
    pub fn open_read(path: &Path) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        let open = || -> rusqlite::Result<Store> {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            // Any table a version without it lacks reads as empty rather than failing.
            Ok(Store { conn })
        };
        open().map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })
    }

    /// A store in memory (for signals under `run` without `--store`, and tests).
    ///
    /// # Errors
    /// When SQLite cannot make one.
    pub fn in_memory() -> Result<Store, StoreError> {
        Ok(Store::prepare(Connection::open_in_memory()?)?)
    }

    fn prepare(conn: Connection) -> rusqlite::Result<Store> {
        // NORMAL in WAL mode: a committed transaction survives the process being killed
        // (only a power cut may lose the last ones), and a commit does not wait for the disk.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoints every 32 MiB of WAL rather than 4: a page that a run writes again (the
        // open bar's rows) is copied into the database once, and the fsyncs are fewer.
        conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
        // A day's footprint is some 20 MB: its pages stay in memory while a run replaces them.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn })
    }

    /// Starts a run: deletes the rows of its series inside `[range_start, range_end)` and
    /// adds its `runs` row (status `unfinished`), in one transaction. Returns the run's id.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn begin_run(&mut self, run: &RunRecord, started_at: &str) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        delete_range(
            &tx,
            &run.series,
            run.range_start,
            run.range_end,
            &SERIES_TABLES,
        )?;
        tx.execute(
            "INSERT INTO runs(instrument, range_start, range_end, window_s, options, started_at, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.series.instrument,
                run.range_start,
                run.range_end,
                run.series.window_s,
                run.options,
                started_at,
                RunStatus::Unfinished.as_str()
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Sets the status of run `id` and when it ended.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        finished_at: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE runs SET status = ?1, finished_at = ?2 WHERE id = ?3",
            params![status.as_str(), finished_at, id],
        )?;
        Ok(())
    }

    /// The status of run `id`, if there is one.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn run_status(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT status FROM runs WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()?)
    }

    /// Deletes the rows of `series` in `[from, to)` of every series table (a restart of the
    /// run), in one transaction.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn clear_range(
        &mut self,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        delete_range(&tx, series, from, to, &SERIES_TABLES)?;
        tx.commit()?;
        Ok(())
    }

    /// A run that starts over from an earlier state: deletes its bars, metric bars, footprints
    /// and signals in `[from, to)`, and its prints from number `first_print` on.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn restart_range(
        &mut self,
        series: &Series,
        from: Millis,
        to: Millis,
        first_print: u64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        delete_range(
            &tx,
            series,
            from,
            to,
            &["bars", "metric_bars", "footprint", "signals"],
        )?;
        tx.execute(
            "DELETE FROM prints WHERE instrument = ?1 AND window_s = ?2 AND ts >= ?3 AND ts < ?4
             AND seq >= ?5",
            params![series.instrument, series.window_s, from, to, first_print],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes the signals of `series` in `[from, to)` (before they are computed again).
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn clear_signals(
        &mut self,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        delete_range(&tx, series, from, to, &["signals"])?;
        tx.commit()?;
        Ok(())
    }

    /// Writes `batch` for `series` in one transaction: each bar, metric bar and print
    /// replaces the row of its key, each footprint all rows of its bar; signals are added.
    ///
    /// # Errors
    /// When SQLite fails (the transaction is rolled back: the store stays as it was).
    pub fn write(&mut self, series: &Series, batch: &Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        write_batch(&tx, series, batch)?;
        tx.commit()?;
        Ok(())
    }

    /// The bars of `series` with `ts` in `[from, to)`, by `ts`.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn bars(
        &self,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<BarRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, open, high, low, close, volume, buy_volume, sell_volume, trades FROM bars
             WHERE instrument = ?1 AND window_s = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts",
        )?;
        let rows = stmt.query_map(
            params![series.instrument, series.window_s, from, to],
            bar_of,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to `n` bars of `series` before `ts`, by `ts` (oldest first).
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn bars_before(
        &self,
        series: &Series,
        ts: Millis,
        n: usize,
    ) -> Result<Vec<BarRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, open, high, low, close, volume, buy_volume, sell_volume, trades FROM bars
             WHERE instrument = ?1 AND window_s = ?2 AND ts < ?3 ORDER BY ts DESC LIMIT ?4",
        )?;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![series.instrument, series.window_s, ts, n], bar_of)?;
        let mut bars: Vec<BarRecord> = rows.collect::<Result<_, _>>()?;
        bars.reverse();
        Ok(bars)
    }

    /// The metric bars of `series` with `ts` in `[from, to)`, by `ts`.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn metric_bars(
        &self,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<MetricBar>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, obi_open, obi_high, obi_low, obi_close, cvd_open, cvd_high, cvd_low, cvd_close
             FROM metric_bars WHERE instrument = ?1 AND window_s = ?2 AND ts >= ?3 AND ts < ?4
             ORDER BY ts",
        )?;
        let rows = stmt.query_map(
            params![series.instrument, series.window_s, from, to],
            metric_bar_of,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last metric bar of `series` before `ts`.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn metric_bar_before(
        &self,
        series: &Series,
        ts: Millis,
    ) -> Result<Option<MetricBar>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, obi_open, obi_high, obi_low, obi_close, cvd_open, cvd_high, cvd_low, cvd_close
             FROM metric_bars WHERE instrument = ?1 AND window_s = ?2 AND ts < ?3
             ORDER BY ts DESC LIMIT 1",
        )?;
        Ok(stmt
            .query_row(
                params![series.instrument, series.window_s, ts],
                metric_bar_of,
            )
            .optional()?)
    }

    /// The footprint rows of `series` with `ts` in `[from, to)`, by `ts` then price.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn footprint(
        &self,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<FootprintRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, price, buy, sell FROM footprint
             WHERE instrument = ?1 AND window_s = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts, price",
        )?;
        let rows = stmt.query_map(
            params![series.instrument, series.window_s, from, to],
            |row| {
                Ok(FootprintRecord {
                    ts: row.get(0)?,
                    price: row.get(1)?,
                    buy: row.get(2)?,
                    sell: row.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The prints of `series` with `ts` in `[from, to)`, in event order.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn prints(
        &self,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<PrintRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, side, vwap, size, trades, seq FROM prints
             WHERE instrument = ?1 AND window_s = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts, seq",
        )?;
        let rows = stmt.query_map(
            params![series.instrument, series.window_s, from, to],
            |row| {
                let side: String = row.get(1)?;
                Ok(PrintRecord {
                    ts: row.get(0)?,
                    side: if side == "sell" {
                        Side::Sell
                    } else {
                        Side::Buy
                    },
                    vwap: row.get(2)?,
                    size: row.get(3)?,
                    trades: row.get(4)?,
                    seq: row.get(5)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The signals of `series` with `ts` in `[from, to)`, by `ts` then as written.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn signals(
        &self,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<SignalRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ts, name, price, value, detail FROM signals
             WHERE instrument = ?1 AND window_s = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts, rowid",
        )?;
        let rows = stmt.query_map(
            params![series.instrument, series.window_s, from, to],
            |row| {
                Ok(SignalRecord {
                    ts: row.get(0)?,
                    name: row.get(1)?,
                    price: row.get(2)?,
                    value: row.get(3)?,
                    detail: row.get(4)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every series that has bars or metric bars, by instrument then window.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn series(&self) -> Result<Vec<Series>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT instrument, window_s FROM bars GROUP BY 1, 2
             UNION SELECT instrument, window_s FROM metric_bars GROUP BY 1, 2 ORDER BY 1, 2",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(Series {
                instrument: row.get(0)?,
                window_s: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The bar windows stored for `instrument`, in seconds, smallest first.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn windows(&self, instrument: &str) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT window_s FROM bars WHERE instrument = ?1 GROUP BY window_s
             UNION SELECT window_s FROM metric_bars WHERE instrument = ?1 GROUP BY window_s
             ORDER BY 1",
        )?;
        let rows = stmt.query_map([instrument], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Checks that a user rule's query is read-only SQL that SQLite accepts and that it
    /// returns a `ts` column.
    ///
    /// # Errors
    /// [`RuleSqlError`] says why not.
    pub fn check_rule(&self, sql: &str) -> Result<(), RuleSqlError> {
        let stmt = self.conn.prepare(sql)?;
        if !stmt.readonly() {
            return Err(RuleSqlError::NotReadOnly);
        }
        if !stmt
            .column_names()
            .iter()
            .any(|name| name.eq_ignore_ascii_case("ts"))
        {
            return Err(RuleSqlError::NoTs);
        }
        Ok(())
    }

    /// Runs a user rule's query for the closed bars of `series` in `[from, to)`: it may use the
    /// parameters `:instrument`, `:window_s`, `:from` and `:to`; rows whose `ts` is outside
    /// the range (or not an integer) are left out. Columns `price`, `value` and `detail` are
    /// optional.
    ///
    /// # Errors
    /// [`RuleSqlError`] when SQLite refuses or fails.
    pub fn run_rule(
        &self,
        name: &str,
        sql: &str,
        series: &Series,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<SignalRecord>, RuleSqlError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        if !stmt.readonly() {
            return Err(RuleSqlError::NotReadOnly);
        }
        for (param, value) in [
            (
                ":instrument",
                rusqlite::types::Value::Text(series.instrument.clone()),
            ),
            (
                ":window_s",
                rusqlite::types::Value::Integer(series.window_s),
            ),
            (":from", rusqlite::types::Value::Integer(from)),
            (":to", rusqlite::types::Value::Integer(to)),
        ] {
            if let Some(index) = stmt.parameter_index(param)? {
                stmt.raw_bind_parameter(index, value)?;
            }
        }
        let find = |wanted: &str| {
            stmt.column_names()
                .iter()
                .position(|name| name.eq_ignore_ascii_case(wanted))
        };
        let ts = find("ts").ok_or(RuleSqlError::NoTs)?;
        let (price, value, detail) = (find("price"), find("value"), find("detail"));
        let mut signals = Vec::new();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            let Ok(Some(at)) = row.get::<_, Option<i64>>(ts) else {
                continue;
            };
            if at < from || at >= to {
                continue;
            }
            let real = |index: Option<usize>| {
                index.and_then(|index| match row.get_ref(index) {
                    Ok(ValueRef::Real(x)) => Some(x),
                    Ok(ValueRef::Integer(x)) => Some(x as f64),
                    _ => None,
                })
            };
            let text = detail.and_then(|index| match row.get_ref(index) {
                Ok(ValueRef::Null) | Err(_) => None,
                Ok(ValueRef::Text(text) | ValueRef::Blob(text)) => {
                    Some(String::from_utf8_lossy(text).into_owned())
                }
                Ok(ValueRef::Integer(x)) => Some(x.to_string()),
                Ok(ValueRef::Real(x)) => Some(x.to_string()),
            });
            signals.push(SignalRecord {
                ts: at,
                name: name.to_owned(),
                price: real(price),
                value: real(value),
                detail: text,
            });
        }
        Ok(signals)
    }

    /// Every row of `table`, ordered by instrument and time, as `(instrument, cells)` where
    /// the cells follow `table.columns`.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn scan(
        &self,
        table: &Table,
        mut each: impl FnMut(&str, &[Cell]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let names: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
        let sql = format!(
            "SELECT instrument, {} FROM {} ORDER BY instrument, {}, rowid",
            names.join(", "),
            table.name,
            table.time_column
        );
        // WITHOUT ROWID tables have no rowid: their primary key orders them.
        let sql = if matches!(table.name, "signals" | "runs") {
            sql
        } else {
            sql.replace(", rowid", "")
        };
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut cells = Vec::with_capacity(names.len());
        while let Some(row) = rows.next()? {
            let instrument: String = row.get(0)?;
            cells.clear();
            for index in 0..names.len() {
                cells.push(match row.get_ref(index + 1)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(x) => Cell::Int(x),
                    ValueRef::Real(x) => Cell::Real(x),
                    ValueRef::Text(text) | ValueRef::Blob(text) => {
                        Cell::Text(String::from_utf8_lossy(text).into_owned())
                    }
                });
            }
            each(&instrument, &cells)?;
        }
        Ok(())
    }

    /// The number of rows of `table`.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn count(&self, table: &Table) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        Ok(self.conn.query_row(&sql, [], |row| row.get(0))?)
    }
}

fn delete_range(
    tx: &Transaction<'_>,
    series: &Series,
    from: Millis,
    to: Millis,
    tables: &[&str],
) -> rusqlite::Result<()> {
    for table in tables {
        tx.execute(
            &format!(
                "DELETE FROM {table} WHERE instrument = ?1 AND window_s = ?2 AND ts >= ?3 AND ts < ?4"
            ),
            params![series.instrument, series.window_s, from, to],
        )?;
    }
    Ok(())
}

fn write_batch(tx: &Transaction<'_>, series: &Series, batch: &Batch) -> rusqlite::Result<()> {
    let key = (&series.instrument, series.window_s);
    if !batch.bars.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO bars VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for record in &batch.bars {
            let bar = &record.bar;
            stmt.execute(params![
                key.0,
                key.1,
                bar.ts,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
                record.buy_volume,
                record.sell_volume,
                record.trades
            ])?;
        }
    }
    if !batch.metric_bars.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO metric_bars VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for bar in &batch.metric_bars {
            let (obi, cvd) = (&bar.obi, &bar.cvd);
            stmt.execute(params![
                key.0, key.1, bar.ts, obi.open, obi.high, obi.low, obi.close, cvd.open, cvd.high,
                cvd.low, cvd.close
            ])?;
        }
    }
    if !batch.footprints.is_empty() {
        let mut clear = tx.prepare_cached(
            "DELETE FROM footprint WHERE instrument = ?1 AND window_s = ?2 AND ts = ?3",
        )?;
        // Many rows per statement: a day of 1-minute bars holds some 350,000 footprint rows,
        // and one statement per row would cost more than the rest of the store.
        let many = format!(
            "INSERT OR REPLACE INTO footprint VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?)"; FOOTPRINT_ROWS_PER_INSERT].join(", ")
        );
        let mut insert_many = tx.prepare_cached(&many)?;
        let mut insert =
            tx.prepare_cached("INSERT OR REPLACE INTO footprint VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for (ts, rows) in &batch.footprints {
            clear.execute(params![key.0, key.1, ts])?;
            let mut chunks = rows.chunks_exact(FOOTPRINT_ROWS_PER_INSERT);
            for chunk in &mut chunks {
                for (index, row) in chunk.iter().enumerate() {
                    let at = index * 6;
                    insert_many.raw_bind_parameter(at + 1, key.0)?;
                    insert_many.raw_bind_parameter(at + 2, key.1)?;
                    insert_many.raw_bind_parameter(at + 3, row.ts)?;
                    insert_many.raw_bind_parameter(at + 4, row.price)?;
                    insert_many.raw_bind_parameter(at + 5, row.buy)?;
                    insert_many.raw_bind_parameter(at + 6, row.sell)?;
                }
                insert_many.raw_execute()?;
            }
            for row in chunks.remainder() {
                insert.execute(params![key.0, key.1, row.ts, row.price, row.buy, row.sell])?;
            }
        }
    }
    if !batch.prints.is_empty() {
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO prints VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for print in &batch.prints {
            let side = match print.side {
                Side::Buy => "buy",
                Side::Sell => "sell",
            };
            insert.execute(params![
                key.0,
                key.1,
                print.ts,
                print.seq,
                side,
                print.vwap,
                print.size,
                print.trades
            ])?;
        }
    }
    if !batch.signals.is_empty() {
        let mut insert =
            tx.prepare_cached("INSERT INTO signals VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
        for signal in &batch.signals {
            insert.execute(params![
                key.0,
                key.1,
                signal.ts,
                signal.name,
                signal.price,
                signal.value,
                signal.detail
            ])?;
        }
    }
    Ok(())
}

fn bar_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<BarRecord> {
    Ok(BarRecord {
        bar: Bar {
            ts: row.get(0)?,
            open: row.get(1)?,
            high: row.get(2)?,
            low: row.get(3)?,
            close: row.get(4)?,
            volume: row.get(5)?,
        },
        buy_volume: row.get(6)?,
        sell_volume: row.get(7)?,
        trades: row.get(8)?,
    })
}

fn metric_bar_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<MetricBar> {
    let ohlc = |first: usize| -> rusqlite::Result<Ohlc> {
        Ok(Ohlc {
            open: row.get(first)?,
            high: row.get(first + 1)?,
            low: row.get(first + 2)?,
            close: row.get(first + 3)?,
        })
    };
    Ok(MetricBar {
        ts: row.get(0)?,
        obi: ohlc(1)?,
        cvd: ohlc(5)?,
    })
}
