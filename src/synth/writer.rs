//! One day file: the SPEC 1.2 schema, fast inserts, and an atomic appearance under its name.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Statement, params};
use tempfile::TempPath;

use super::SynthError;
use crate::engine::{Millis, Side};

/// The schema a real recorder writes (SPEC 1.2), written in one go by a batch.
const SCHEMA: &str = "
    PRAGMA journal_mode = OFF;
    PRAGMA synchronous = OFF;
    PRAGMA locking_mode = EXCLUSIVE;
    PRAGMA cache_size = -65536;
";
const TABLES: &str = "
    CREATE TABLE book (
        id INTEGER PRIMARY KEY,
        instrument TEXT,
        action TEXT,
        bids TEXT,
        asks TEXT,
        timestamp INTEGER,
        seqId INTEGER,
        prevSeqId INTEGER
    );
    CREATE TABLE trades (
        id INTEGER PRIMARY KEY,
        instrument TEXT,
        trade_id TEXT,
        price REAL,
        size REAL,
        side TEXT,
        timestamp INTEGER
    );
";

/// A day file being written under a hidden temporary name (`.orderflow-{pid}-….tmp`, see
/// `output::temp`); [`DayFile::finish`] renames it to `NAME.db` unless that exists, so discovery
/// never sees a half-written file and no file is ever replaced. Dropped unfinished, the
/// temporary file is deleted.
pub(crate) struct DayFile {
    path: PathBuf,
    conn: Connection,
    tmp: TempPath,
}

/// A book row or trade to insert; the level text is borrowed from reused buffers.
pub(crate) struct BookInsert<'a> {
    pub id: i64,
    pub snapshot: bool,
    pub bids: &'a [u8],
    pub asks: &'a [u8],
    pub ts: Millis,
    pub seq_id: i64,
    pub prev_seq_id: i64,
}

pub(crate) struct TradeInsert<'a> {
    pub id: i64,
    pub trade_id: &'a str,
    pub price: f64,
    pub size: f64,
    pub side: Side,
    pub ts: Millis,
}

/// The two prepared inserts of a day file.
pub(crate) struct Inserts<'c> {
    book: Statement<'c>,
    trade: Statement<'c>,
    instrument: &'c str,
}

impl DayFile {
    /// Creates a temporary file beside `path` with the schema, in one open transaction.
    pub fn create(path: PathBuf) -> Result<DayFile, SynthError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = crate::output::temp::builder()
            .tempfile_in(dir)
            .map_err(|source| SynthError::Io {
                path: path.clone(),
                source,
            })?
            .into_temp_path();
        let sqlite = |source| SynthError::Sqlite {
            path: tmp.to_path_buf(),
            source,
        };
        let conn = Connection::open(&tmp).map_err(sqlite)?;
        conn.execute_batch(SCHEMA).map_err(sqlite)?;
        conn.execute_batch(TABLES).map_err(sqlite)?;
        conn.execute_batch("BEGIN").map_err(sqlite)?;
        Ok(DayFile { path, conn, tmp })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Prepares the inserts; they borrow the connection until dropped.
    pub fn inserts<'c>(&'c self, instrument: &'c str) -> Result<Inserts<'c>, SynthError> {
        prepare(&self.conn, &self.tmp, instrument)
    }

    /// Commits, closes and renames the file to its final name, unless a file of that name
    /// appeared meanwhile. Returns its size in bytes.
    pub fn finish(self) -> Result<u64, SynthError> {
        let DayFile { path, conn, tmp } = self;
        let sqlite = |source| SynthError::Sqlite {
            path: tmp.to_path_buf(),
            source,
        };
        conn.execute_batch("COMMIT").map_err(sqlite)?;
        conn.close().map_err(|(_, source)| sqlite(source))?;
        tmp.persist_noclobber(&path)
            .map_err(|e| match e.error.kind() {
                std::io::ErrorKind::AlreadyExists => SynthError::Exists { path: path.clone() },
                _ => SynthError::Io {
                    path: path.clone(),
                    source: e.error,
                },
            })?;
        let bytes = fs::metadata(&path)
            .map_err(|source| SynthError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        Ok(bytes)
    }

    /// Wraps an insert error with the file it concerns.
    pub fn error(&self, source: rusqlite::Error) -> SynthError {
        SynthError::Sqlite {
            path: self.tmp.to_path_buf(),
            source,
        }
    }
}

/// The inserts of a file being written at `path`, on `conn`.
fn prepare<'c>(
    conn: &'c Connection,
    path: &Path,
    instrument: &'c str,
) -> Result<Inserts<'c>, SynthError> {
    let sqlite = |source| SynthError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let book = conn
        .prepare("INSERT INTO book (id, instrument, action, bids, asks, timestamp, seqId, prevSeqId) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        .map_err(sqlite)?;
    let trade = conn
        .prepare("INSERT INTO trades (id, instrument, trade_id, price, size, side, timestamp) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .map_err(sqlite)?;
    Ok(Inserts {
        book,
        trade,
        instrument,
    })
}

/// How a live recording journals its writes (`synth --live --journal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journal {
    /// Write-ahead log: readers and the writer never wait for each other.
    Wal,
    /// SQLite's default rollback journal: a commit waits for readers' shared locks.
    Delete,
}

/// A day file written in place at the pace of its rows, as a recorder writes: created new
/// (never in place of an existing file), a transaction per commit, a busy timeout of 5 s.
pub(crate) struct LiveFile {
    path: PathBuf,
    conn: Connection,
}

impl LiveFile {
    /// Creates `path`, which must not exist, with the schema.
    pub fn create(path: PathBuf, journal: Journal) -> Result<LiveFile, SynthError> {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => SynthError::Exists { path: path.clone() },
                _ => SynthError::Io {
                    path: path.clone(),
                    source,
                },
            })?;
        let sqlite = |source| SynthError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite)?;
        let mode = match journal {
            Journal::Wal => "WAL",
            Journal::Delete => "DELETE",
        };
        conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |_| Ok(()))
            .map_err(sqlite)?;
        conn.execute_batch(&format!("BEGIN; {TABLES} COMMIT;"))
            .map_err(sqlite)?;
        Ok(LiveFile { path, conn })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn inserts<'c>(&'c self, instrument: &'c str) -> Result<Inserts<'c>, SynthError> {
        prepare(&self.conn, &self.path, instrument)
    }

    /// Runs `sql` (`BEGIN`, `COMMIT`).
    pub fn batch(&self, sql: &str) -> Result<(), SynthError> {
        self.conn
            .execute_batch(sql)
            .map_err(|source| self.error(source))
    }

    pub fn error(&self, source: rusqlite::Error) -> SynthError {
        SynthError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

impl Inserts<'_> {
    pub fn book(&mut self, row: &BookInsert<'_>) -> rusqlite::Result<()> {
        let action = if row.snapshot { "snapshot" } else { "update" };
        // Level text is ASCII we wrote ourselves: bind the bytes as TEXT without a copy.
        let bids = ToSqlOutput::Borrowed(ValueRef::Text(row.bids));
        let asks = ToSqlOutput::Borrowed(ValueRef::Text(row.asks));
        self.book.execute(params![
            row.id,
            self.instrument,
            action,
            bids,
            asks,
            row.ts,
            row.seq_id,
            row.prev_seq_id
        ])?;
        Ok(())
    }

    pub fn trade(&mut self, row: &TradeInsert<'_>) -> rusqlite::Result<()> {
        let side = match row.side {
            Side::Buy => "buy",
            Side::Sell => "sell",
        };
        self.trade.execute(params![
            row.id,
            self.instrument,
            row.trade_id,
            row.price,
            row.size,
            side,
            row.ts
        ])?;
        Ok(())
    }
}
