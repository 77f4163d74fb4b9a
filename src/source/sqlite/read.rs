//! The one way to read a recording, whatever the threads: [`Recording::read`] gives a
//! [`Reader`], whose [`Reader::next`] gives the file's records in the order of SPEC 2.1 and,
//! at the end, how the reading ended.
//!

use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use super::connection::{BOOK, TRADES, connect, fail};
use super::decode::{BookDecoder, TradeDecoder};
use super::inline::{BOOK_PIECE, InlineTable, TRADES_PIECE};
use super::order::{self, Ending, TradeOrder};
use super::plan::Plan;
use super::recording::Recording;
use super::threads::Threads;
use crate::engine::{BookRow, Millis};
use crate::source::merge::{Merge, OrderWatch};
use crate::source::record::{FileError, Record};

impl Recording {
    /// Reads the records of the file in the order of SPEC 2.1, ending before the first event
    /// at or after `end`, on this thread or on threads of its own as `mode` says.
    ///
    /// # Errors
    /// [`FileError`] when the file cannot be opened again (deleted or locked since `open`),
    /// or its trades cannot be checked or sorted.
    pub fn read(&mut self, end: Millis, mode: ReadMode) -> Result<Reader<'_>, FileError> {
        Reader::start(self, end, mode)
    }
}

/// Where a recording is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// On the calling thread, both tables on one connection (`--jobs 1`, and the files a
    /// `--jobs` worker reads ahead), with the trades brought into time order as [`TradeOrder`]
    /// says.
    Inline(TradeOrder),
    /// Each table read and decoded on threads of its own, a bounded number of rows ahead of
    /// the merge, with the trades brought into time order as [`TradeOrder`] says.
    Threads(TradeOrder),
}

impl ReadMode {
    /// Whether the read trusts the trades to be in time order by `id` ([`TradeOrder::Trusted`]).
    pub fn trusts(self) -> bool {
        matches!(
            self,
            ReadMode::Inline(TradeOrder::Trusted) | ReadMode::Threads(TradeOrder::Trusted)
        )
    }

    /// The same place of reading, with the trades in `order`.
    #[must_use]
    pub fn with_order(self, order: TradeOrder) -> ReadMode {
        match self {
            ReadMode::Inline(_) => ReadMode::Inline(order),
            ReadMode::Threads(_) => ReadMode::Threads(order),
        }
    }
}

/// What a [`Reader`] gives next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Record(Record),
    /// No more records; asked again, the same.
    End(Ending),
}

/// The records of one recording, merged in time order (SPEC 2.1), ending before the first
/// event at or after the end of the range.
pub struct Reader<'r> {
    _recording: PhantomData<&'r mut Recording>,
    plan: Arc<Plan>,
    tables: Tables,
    merge: Merge,
    ended: Option<Ending>,
}

// One per file read: the size of the larger variant costs nothing, a box a pointer a record.
#[allow(clippy::large_enum_variant)]
enum Tables {
    Inline(Inline),
    Threads(Threads),
}

/// Both tables read on the calling thread.
struct Inline {
    book: Option<InlineTable<BookDecoder>>,
    trades: Option<InlineTable<TradeDecoder>>,
}

impl<'r> Reader<'r> {
    pub(super) fn start(
        recording: &'r mut Recording,
        end: Millis,
        mode: ReadMode,
    ) -> Result<Reader<'r>, FileError> {
        let conn = connect(&recording.path)?;
        let plan = Arc::new(Plan::new(recording, &conn)?);
        let path = plan.path.as_path();
        let mut merge = Merge::new(end);
        // A trusting read watches the trades' order as they are merged. The trades left unread
        // are found by their ids (see `order::confirm`): `id` must be the rowid, unique, for
        // `id > last` to be all of them.
        let keyed = plan.trades.as_ref().is_some_and(|t| t.keyed);
        if mode.trusts() && keyed {
            merge.watch = Some(OrderWatch::default());
        }
        let tables = match mode {
            ReadMode::Inline(order) => {
                // Should the trades need sorting, let a large sort spill to disk instead of
                // memory. Set before any transaction: SQLite refuses to change temporary
                // storage under an open one.
                conn.execute_batch("PRAGMA temp_store = FILE")
                    .map_err(fail(path, "sorting trades"))?;
                let conn = Rc::new(conn);
                let book = match &plan.book {
                    Some(b) => {
                        if let Some(copy) = &b.copy {
                            copy.run(&conn).map_err(fail(path, BOOK))?;
                        }
                        let decoder = b.decoder(None);
                        Some(InlineTable::new(
                            Rc::clone(&conn),
                            b.read.clone(),
                            BOOK_PIECE,
                            decoder,
                            path,
                            BOOK,
                        ))
                    }
                    None => None,
                };
                let trades = match &plan.trades {
                    Some(t) => {
                        let pieces = t.prepare(&conn, path, order)?.clone();
                        let decoder = TradeDecoder { unit: t.unit };
                        Some(InlineTable::new(
                            conn,
                            pieces,
                            TRADES_PIECE,
                            decoder,
                            path,
                            TRADES,
                        ))
                    }
                    None => None,
                };
                Tables::Inline(Inline { book, trades })
            }
            ReadMode::Threads(order) => {
                let trusted = order == TradeOrder::Trusted && keyed;
                Tables::Threads(Threads::start(&plan, conn, order, trusted)?)
            }
        };
        Ok(Reader {
            _recording: PhantomData,
            plan,
            tables,
            merge,
            ended: None,
        })
    }

    /// The next record, or how the reading ended.
    ///
    /// # Errors
    /// [`FileError`] when the file turns out corrupt midway (or is locked, or stops
    /// answering); the records given before stay valid, and the reader ends there.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Next, FileError> {
        if let Some(ending) = self.ended {
            return Ok(Next::End(ending));
        }
        let next = match &mut self.tables {
            Tables::Inline(inline) => self.merge.next(&mut inline.book, &mut inline.trades),
            Tables::Threads(threads) => self.merge.next(&mut threads.book, &mut threads.trades),
        };
        if let Ok(Some(record)) = next {
            return Ok(Next::Record(record));
        }
        self.ended = Some(Ending::Complete);
        if let Tables::Threads(threads) = &mut self.tables {
            threads.halt();
        }
        next?;
        let ending = order::confirm(&self.plan, &self.merge)?;
        self.ended = Some(ending);
        Ok(Next::End(ending))
    }

    /// Rows read so far (book and trades, valid or not), for progress.
    pub fn rows_read(&self) -> u64 {
        self.merge.rows
    }

    /// Hands a book row the caller is done with back to the reader, which then parses its next
    /// rows into the level vectors that fit them (on threads, see [`Threads::recycle`]).
    /// Optional: a row simply dropped costs only that. (Book rows only: a trade, moved here
    /// to be dropped, cost a copy of the event and two calls a trade.)
    pub fn recycle(&mut self, row: BookRow) {
        match &mut self.tables {
            Tables::Threads(threads) => threads.recycle(row),
            Tables::Inline(inline) => {
                if let Some(book) = &mut inline.book {
                    let decoder = book.decoder_mut();
                    decoder.take_back(row.bids);
                    decoder.take_back(row.asks);
                }
            }
        }
    }
}
