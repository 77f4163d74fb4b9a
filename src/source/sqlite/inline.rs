//! Reading a recording on the calling thread (`--jobs 1`, and the files a `--jobs` worker
//! reads ahead): both tables in pieces on one connection, merged as they are read.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use rusqlite::types::Value;
use rusqlite::{Connection, Rows, Statement};

use super::Recording;
use super::connection::{BOOK, TRADES, fail};
use super::decode::{Decode, TradeDecoder};
use super::fetch::{PIECE, Resume};
use super::guard;
use super::order::TradeOrder;
use super::plan::Plan;
use crate::engine::Millis;
use crate::source::merge::{Item, Merge, Source};
use crate::source::record::{FileError, Record};

/// Reads `recording` on the calling thread, handing each record and the rows read so far to
/// `consume` until it breaks: the single-threaded reading of `--jobs 1`.
///
/// # Errors
/// [`FileError`] when the file turns out corrupt midway; the records handed over before stay
/// valid.
pub(crate) fn read_inline(
    recording: &Recording,
    conn: Connection,
    end: Millis,
    consume: &mut dyn FnMut(Record, u64) -> ControlFlow<()>,
) -> Result<(), FileError> {
    let plan = Plan::new(recording, &conn)?;
    let path = plan.path.as_path();
    let trades_query = match &plan.trades {
        Some(t) => {
            conn.execute_batch("PRAGMA temp_store = FILE")
                .map_err(fail(path, "sorting trades"))?;
            Some(t.query(&conn, path, TradeOrder::Checked)?)
        }
        None => None,
    };
    let mut book_stmt = match &plan.book {
        Some(b) => Some(conn.prepare(&b.sql).map_err(fail(path, BOOK))?),
        None => None,
    };
    let mut trade_stmt = match &trades_query {
        Some((sql, _, _)) => Some(conn.prepare(sql).map_err(fail(path, TRADES))?),
        None => None,
    };
    let mut book = match (&mut book_stmt, &plan.book) {
        (Some(stmt), Some(b)) => Some(Cursor::new(
            stmt,
            b.params.clone(),
            b.resume,
            b.decoder(None),
            path,
            BOOK,
        )?),
        _ => None,
    };
    let mut trades = match (&mut trade_stmt, &plan.trades, trades_query) {
        (Some(stmt), Some(t), Some((_, params, resume))) => Some(Cursor::new(
            stmt,
            params.to_vec(),
            resume,
            TradeDecoder { unit: t.unit },
            path,
            TRADES,
        )?),
        _ => None,
    };
    let mut merge = Merge::new(end);
    while let Some(record) = merge.next(&mut book, &mut trades)? {
        if consume(record, merge.rows).is_break() {
            break;
        }
    }
    Ok(())
}

/// A table read on the calling thread: in pieces, each read into `buffer` and the statement
/// then reset, for a table that can resume after an id; else in one run of the statement.
pub(super) struct Cursor<'s, 'c, 'p, D> {
    pub(super) reading: Reading<'s, 'c>,
    pub(super) decoder: D,
    /// Rows read and not taken yet, in order.
    pub(super) buffer: VecDeque<Item>,
    /// An error met after the rows in `buffer`, given once they are taken (SPEC 4: what was
    /// read before a file turned out corrupt is kept).
    pub(super) failed: Option<rusqlite::Error>,
    pub(super) path: &'p Path,
    pub(super) doing: &'static str,
}

pub(super) enum Reading<'s, 'c> {
    Whole(Rows<'s>),
    Pieces {
        stmt: &'s mut Statement<'c>,
        params: Vec<Value>,
        /// The index of the `id > ?` parameter.
        at: usize,
        done: bool,
    },
}

/// Rows per piece of a table read on the calling thread.
pub(super) const PIECE_ROWS: usize = 512;

impl<'s, 'c, 'p, D: Decode> Cursor<'s, 'c, 'p, D> {
    pub(super) fn new(
        stmt: &'s mut Statement<'c>,
        params: Vec<Value>,
        resume: Resume,
        decoder: D,
        path: &'p Path,
        doing: &'static str,
    ) -> Result<Self, FileError> {
        let reading = match resume {
            Some(at) => Reading::Pieces {
                stmt,
                params,
                at,
                done: false,
            },
            None => {
                guard::touch();
                Reading::Whole(
                    stmt.query(rusqlite::params_from_iter(params))
                        .map_err(fail(path, doing))?,
                )
            }
        };
        Ok(Cursor {
            reading,
            decoder,
            buffer: VecDeque::new(),
            failed: None,
            path,
            doing,
        })
    }

    /// Reads the next rows into the buffer: one row, or the next piece.
    pub(super) fn read(&mut self) -> rusqlite::Result<()> {
        match &mut self.reading {
            Reading::Whole(rows) => {
                if let Some(row) = rows.next()? {
                    self.buffer.push_back(self.decoder.decode(row)?);
                }
            }
            Reading::Pieces {
                stmt,
                params,
                at,
                done,
            } => {
                if *done {
                    return Ok(());
                }
                guard::touch();
                let started = Instant::now();
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                let read = loop {
                    let row = match rows.next() {
                        Ok(Some(row)) => row,
                        Ok(None) => {
                            *done = true;
                            break Ok(());
                        }
                        Err(e) => break Err(e),
                    };
                    match self.decoder.decode(row) {
                        Ok(item) => self.buffer.push_back(item),
                        Err(e) => break Err(e),
                    }
                    if self.buffer.len() >= PIECE_ROWS || started.elapsed() >= PIECE {
                        break Ok(());
                    }
                };
                if let Some(last) = self.buffer.back() {
                    params[*at] = Value::Integer(last.record.id());
                }
                if let Err(e) = read {
                    *done = true;
                    if self.buffer.is_empty() {
                        return Err(e);
                    }
                    self.failed = Some(e);
                }
            }
        }
        Ok(())
    }
}

impl<D: Decode> Source for Cursor<'_, '_, '_, D> {
    fn peek(&mut self) -> Result<Option<&Item>, FileError> {
        if self.buffer.is_empty() {
            if let Some(e) = self.failed.take() {
                return Err(fail(self.path, self.doing)(e));
            }
            self.read().map_err(fail(self.path, self.doing))?;
        }
        Ok(self.buffer.front())
    }

    fn take(&mut self) -> Option<Item> {
        self.buffer.pop_front()
    }
}
