//! Book rows copied out of SQLite on a thread of their own, to be decoded on another.
//!
//! Reading a recording is two jobs of about the same size: SQLite stepping through the book
//! table (pages, overflow chains, the row's text), and parsing that text into levels. Done on
//! one thread, they make the reader the slowest stage of a run, with the engine waiting on it.
//! So the book cursor runs here: each row's columns are copied, text and all, into a
//! [`RawBatch`] (one byte buffer and a small entry per column), and the batches go over a
//! bounded channel to the thread that parses them and merges them with the trades
//! (`stream.rs`). Copying is cheap next to either job: one `memcpy` of text SQLite has just
//! assembled. Batches come back once decoded, so a steady run allocates nothing here.
//!
//! Decoding is left entirely to the other thread: the merge order depends on whether a row is
//! valid (a bad row takes no place in it, SPEC 4), and only parsing tells.

use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};

use super::reader::FileError;
use super::rows::Columns;

/// Rows per batch at most.
const ROWS: usize = 256;
/// Bytes of text per batch after which it goes out (a single row may exceed it).
const BYTES: usize = 128 * 1024;
/// Batches in flight on the channel: with [`BYTES`], about half a megabyte of text read ahead.
pub(crate) const DEPTH: usize = 4;

/// One column of a copied row: a value, or where its bytes are in the batch's buffer.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(Range<usize>),
    Blob(Range<usize>),
}

/// Rows of the book query, copied: each row is `width` consecutive cells.
#[derive(Debug, Default)]
pub(crate) struct RawBatch {
    bytes: Vec<u8>,
    cells: Vec<Cell>,
    width: usize,
}

impl RawBatch {
    fn clear(&mut self, width: usize) {
        self.bytes.clear();
        self.cells.clear();
        self.width = width;
    }

    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    /// Row `i` as columns a decoder can read.
    pub fn row(&self, i: usize) -> RawRow<'_> {
        RawRow {
            batch: self,
            start: i * self.width,
        }
    }

    fn push(&mut self, row: &Row<'_>) -> rusqlite::Result<()> {
        for i in 0..self.width {
            let cell = match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Integer(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(text) => Cell::Text(self.copy(text)),
                ValueRef::Blob(blob) => Cell::Blob(self.copy(blob)),
            };
            self.cells.push(cell);
        }
        Ok(())
    }

    fn copy(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        start..self.bytes.len()
    }
}

/// One copied row.
pub(crate) struct RawRow<'b> {
    batch: &'b RawBatch,
    start: usize,
}

impl Columns for RawRow<'_> {
    fn column(&self, i: usize) -> rusqlite::Result<ValueRef<'_>> {
        let batch = self.batch;
        Ok(match &batch.cells[self.start + i] {
            Cell::Null => ValueRef::Null,
            Cell::Integer(v) => ValueRef::Integer(*v),
            Cell::Real(v) => ValueRef::Real(*v),
            Cell::Text(range) => ValueRef::Text(&batch.bytes[range.clone()]),
            Cell::Blob(range) => ValueRef::Blob(&batch.bytes[range.clone()]),
        })
    }
}

/// What the fetching thread sends.
pub(crate) enum Fetched {
    Rows(RawBatch),
    /// The query is done.
    End,
    /// The query failed after the rows sent before (a corrupt page): they stay valid.
    Failed(FileError),
}

/// The sending end of a fetching thread: where its rows go, and what to call its errors.
pub(crate) struct Fetcher<'p> {
    pub path: &'p Path,
    /// What reading it is, for error messages: "reading book rows".
    pub doing: &'static str,
    pub sender: SyncSender<Fetched>,
    /// Batches handed back to be reused.
    pub spare: Receiver<RawBatch>,
}

impl Fetcher<'_> {
    /// Runs `sql` on `conn` and sends its rows in batches until the end, an error, or the
    /// receiver going away.
    pub fn run(&self, conn: &Connection, sql: &str, params: &[&str]) {
        let fail = |e| FileError::from_sqlite(self.path, self.doing, e);
        let mut stmt = match conn.prepare(sql) {
            Ok(stmt) => stmt,
            Err(e) => return self.fail(fail(e)),
        };
        let width = stmt.column_count();
        let mut rows = match stmt.query(rusqlite::params_from_iter(params)) {
            Ok(rows) => rows,
            Err(e) => return self.fail(fail(e)),
        };
        loop {
            let mut batch = self.spare.try_recv().unwrap_or_default();
            batch.clear(width);
            let ended = loop {
                match rows.next() {
                    Ok(Some(row)) => {
                        if let Err(e) = batch.push(row) {
                            break Some(Fetched::Failed(fail(e)));
                        }
                        if batch.len() >= ROWS || batch.bytes.len() >= BYTES {
                            break None;
                        }
                    }
                    Ok(None) => break Some(Fetched::End),
                    Err(e) => break Some(Fetched::Failed(fail(e))),
                }
            };
            if batch.len() > 0 && self.sender.send(Fetched::Rows(batch)).is_err() {
                return;
            }
            if let Some(last) = ended {
                let _ = self.sender.send(last);
                return;
            }
        }
    }

    /// Reports an error met before the query could run.
    pub fn fail(&self, error: FileError) {
        let _ = self.sender.send(Fetched::Failed(error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copied_rows_read_back_as_sqlite_gave_them() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a, b, c);
             INSERT INTO t VALUES (1, 'text', x'00ff'), (NULL, 2.5, '');",
        )
        .unwrap();
        let mut stmt = conn
            .prepare("SELECT a, b, c FROM t ORDER BY rowid")
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut batch = RawBatch::default();
        batch.clear(3);
        while let Some(row) = rows.next().unwrap() {
            batch.push(row).unwrap();
        }
        assert_eq!(batch.len(), 2);
        let first = batch.row(0);
        assert_eq!(first.column(0).unwrap(), ValueRef::Integer(1));
        assert_eq!(first.column(1).unwrap(), ValueRef::Text(b"text"));
        assert_eq!(first.column(2).unwrap(), ValueRef::Blob(&[0, 255]));
        let second = batch.row(1);
        assert_eq!(second.column(0).unwrap(), ValueRef::Null);
        assert_eq!(second.column(1).unwrap(), ValueRef::Real(2.5));
        assert_eq!(second.column(2).unwrap(), ValueRef::Text(b""));
    }
}
