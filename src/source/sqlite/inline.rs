//! A table read on the calling thread (`--jobs 1`, paced replays, and the files a `--jobs`
//! worker reads ahead): in pieces, each read into a buffer and its statement reset at once, so
//! that both tables share one connection and no lock is held between two pieces.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use rusqlite::Connection;

use super::cursor::{Columns, Cursor};
use super::decode::Decode;
use super::fetch::PIECE;
use super::guard;
use super::pages::{self, Pages};
use super::plan::Pieces;
use crate::source::merge::{Item, Source};
use crate::source::record::FileError;

/// Rows per piece of a table read on the calling thread, at most: few book rows, whose level
/// vectors stay alive in the buffer until taken (and are then taken back for the next
/// pieces); many trades, which hold no memory of their own, so that the cost of starting a
/// piece (a seek, SQLite's lock) is spread over many rows.
pub(super) const BOOK_PIECE: usize = 128;
pub(super) const TRADES_PIECE: usize = 1024;

/// Rows between two looks at the clock within a piece.
const CLOCK_ROWS: usize = 64;

/// One table read in pieces on a connection shared with the other table.
pub(super) struct InlineTable<D> {
    conn: Rc<Connection>,
    /// The table's query, prepared at the first piece and started again at each.
    cursor: Option<Cursor>,
    /// The table's pages, which answer the query after its first row where they can
    /// (`pages.rs`); opened with the cursor.
    pages: Option<Pages>,
    /// Rows per piece, at most.
    piece_rows: usize,
    pieces: Pieces,
    decoder: D,
    /// Rows read and not taken yet, in order.
    buffer: VecDeque<Item>,
    /// An error met after the rows in `buffer`, given once they are taken (SPEC 4: what was
    /// read before a file turned out corrupt is kept).
    failed: Option<rusqlite::Error>,
    done: bool,
    path: PathBuf,
    doing: &'static str,
}

impl<D: Decode> InlineTable<D> {
    pub(super) fn new(
        conn: Rc<Connection>,
        pieces: Pieces,
        piece_rows: usize,
        decoder: D,
        path: &Path,
        doing: &'static str,
    ) -> Self {
        InlineTable {
            conn,
            cursor: None,
            pages: None,
            piece_rows,
            pieces,
            decoder,
            buffer: VecDeque::new(),
            failed: None,
            done: false,
            path: path.to_owned(),
            doing,
        }
    }

    /// Reads the next piece into the buffer.
    fn read(&mut self) -> rusqlite::Result<()> {
        let stmt = match &mut self.cursor {
            Some(cursor) => cursor,
            None => {
                let cursor = Cursor::prepare(&self.conn, &self.pieces.sql)?;
                self.pages = (self.pieces.direct.as_ref())
                    .and_then(|direct| pages::open(&self.conn, direct, &self.path));
                self.cursor.insert(cursor)
            }
        };
        guard::touch();
        let started = Instant::now();
        stmt.start(&self.pieces.params)?;
        let key = self.pieces.resume.key;
        let mut last_key = None;
        // Whether the piece reads from the pages: after SQLite's first row, whose step took
        // the read lock.
        let mut scanning = false;
        let read = loop {
            let decoded = match self.pages.as_mut().filter(|_| scanning) {
                Some(reader) => match reader.next() {
                    Ok(Some(row)) => self.decoder.decode(&row),
                    Ok(None) => {
                        self.done = true;
                        break Ok(());
                    }
                    Err(surprise) => {
                        // The next piece reads on through SQLite, after the last row read.
                        pages::give_up(&mut self.pages, &self.path, surprise);
                        break Ok(());
                    }
                },
                None => match stmt.next() {
                    Ok(Some(row)) => {
                        let decoded = self.decoder.decode(&row);
                        if key != 0 {
                            match row.integer(key) {
                                Ok(value) => last_key = Some(value),
                                Err(e) => break Err(e),
                            }
                        }
                        decoded
                    }
                    Ok(None) => {
                        self.done = true;
                        break Ok(());
                    }
                    Err(e) => break Err(e),
                },
            };
            match decoded {
                Ok(item)
                    if self
                        .pieces
                        .until
                        .is_some_and(|until| item.record.id() > until) =>
                {
                    self.done = true;
                    break Ok(());
                }
                Ok(item) => {
                    let id = item.record.id();
                    self.buffer.push_back(item);
                    if !scanning
                        && key == 0
                        && let Some(reader) = self.pages.as_mut()
                    {
                        match reader.scan_after(id, &self.pieces.params) {
                            Ok(()) => scanning = true,
                            Err(surprise) => pages::give_up(&mut self.pages, &self.path, surprise),
                        }
                    }
                }
                Err(e) => break Err(e),
            }
            let read = self.buffer.len();
            if read >= self.piece_rows || (read % CLOCK_ROWS == 0 && started.elapsed() >= PIECE) {
                break Ok(());
            }
        };
        stmt.reset();
        let last = match key {
            0 => self.buffer.back().map(|item| item.record.id()),
            _ => last_key,
        };
        if let Some(last) = last
            && !self.pieces.resume.after(&mut self.pieces.params, last)
        {
            self.done = true;
        }
        if let Err(e) = read {
            self.done = true;
            if self.buffer.is_empty() {
                return Err(e);
            }
            self.failed = Some(e);
        }
        Ok(())
    }
}

impl<D> InlineTable<D> {
    pub(super) fn decoder_mut(&mut self) -> &mut D {
        &mut self.decoder
    }
}

impl<D: Decode> Source for InlineTable<D> {
    fn peek(&mut self) -> Result<Option<&Item>, FileError> {
        if self.buffer.is_empty() {
            let fail = |e| FileError::from_sqlite(&self.path, self.doing, e);
            if let Some(e) = self.failed.take() {
                return Err(fail(e));
            }
            if !self.done {
                self.read()
                    .map_err(|e| FileError::from_sqlite(&self.path, self.doing, e))?;
            }
        }
        Ok(self.buffer.front())
    }

    fn take(&mut self) -> Option<Item> {
        self.buffer.pop_front()
    }
}
