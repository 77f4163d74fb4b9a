//! Following a recording that a recorder is still writing (SPEC 10.1): [`Recording::tail`]
//! gives a [`Tail`] that reads, at each [`Tail::poll`], the rows committed since the last one.
//!
//! How the recorder is never disturbed and never seen half:
//! - the connection is read-only (`mode=ro`, `query_only`): no write lock is ever asked for;
//! - each poll first takes a *cut*, the largest `id` of both tables in one statement, so in
//!   one read transaction: a transaction the recorder has not committed is not in it, and one
//!   it has is in it whole, in both tables. Only rows up to the cut are read, each once (the
//!   tables are append-only logs keyed by their rowid);
//! - rows are read in pieces of at most [`PIECE_ROWS`] rows or about 20 ms, each its own
//!   statement, reset at once: no read transaction outlives a piece, so a rollback-journal
//!   recorder waits at most that long for its commit, and a WAL checkpoint is never held back
//!   by a reader that sits between polls.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::Value;

use super::connection::{BOOK, TRADES, connect, fail};
use super::decode::{BookDecoder, Decode, TradeDecoder};
use super::fetch::PIECE;
use super::guard;
use super::plan::{Pieces, Plan, take_cut};
use super::recording::Recording;
use crate::source::merge::Item;
use crate::source::record::{FileError, Record};
use crate::source::tail_merge::{Release, TailMerge};

/// Rows per statement, at most.
const PIECE_ROWS: usize = 512;
/// Rows per table read in one poll, at most, and waiting at most before a table is read again:
/// a file that is far ahead (the recorded part of a day) is read in several polls.
const POLL_ROWS: usize = 16_384;

/// One table followed: its query, the last `id` read, its decoder.
struct TailTable<D> {
    pieces: Pieces,
    last: Option<i64>,
    decoder: D,
    doing: &'static str,
}

/// A recording followed as it grows.
pub struct Tail {
    recording: Recording,
    conn: Connection,
    book: Option<TailTable<BookDecoder>>,
    trades: Option<TailTable<TradeDecoder>>,
    merge: TailMerge,
    /// When the units of a table that had no timestamp yet were last looked for.
    units_looked: Option<Instant>,
}

/// Time between two looks for the unit of a table's timestamps while it has none.
const UNITS_EVERY: Duration = Duration::from_millis(200);

impl Recording {
    /// Whether this recording can be followed: each of its tables keyed by its rowid, so that
    /// the rows appended later are those after the last `id` read.
    pub fn can_tail(&self) -> bool {
        (self.book.is_none() || self.book_keyed) && (self.trades.is_none() || self.trades_keyed)
    }

    /// Follows this recording from its first row: see [`Tail`].
    ///
    /// # Errors
    /// [`FileError`] when the file cannot be opened again, or a table's `id` is not its rowid
    /// (such a table cannot be read as an append-only log).
    pub fn tail(self) -> Result<Tail, FileError> {
        let conn = connect(&self.path)?;
        let path = self.path.clone();
        let unkeyed = |table: &str| FileError::Sqlite {
            path: path.clone(),
            doing: "following it",
            detail: format!(
                "the `id` of its {table} table is not the table's INTEGER PRIMARY KEY, so rows \
                 appended later cannot be told apart; make `id` the INTEGER PRIMARY KEY to follow it"
            ),
        };
        if self.book.is_some() && !self.book_keyed {
            return Err(unkeyed(BOOK));
        }
        if self.trades.is_some() && !self.trades_keyed {
            return Err(unkeyed(TRADES));
        }
        // Both tables keyed: read after a key up to each poll's own cut (the one given here
        // is only a placeholder, as a table may still be empty).
        let keyed = |table: bool| table.then_some(i64::MAX);
        let plan = Plan::with_cuts(
            &self,
            (keyed(self.book.is_some()), keyed(self.trades.is_some())),
        );
        let book = plan.book.as_ref().map(|b| TailTable {
            pieces: b.read.clone(),
            last: None,
            decoder: b.decoder(None),
            doing: BOOK,
        });
        let trades = plan.trades.as_ref().map(|t| TailTable {
            pieces: t.by_id.clone(),
            last: None,
            decoder: TradeDecoder { unit: t.unit },
            doing: TRADES,
        });
        let merge = TailMerge::new(book.is_some(), trades.is_some());
        Ok(Tail {
            recording: self,
            conn,
            book,
            trades,
            merge,
            units_looked: None,
        })
    }
}

impl Tail {
    pub fn path(&self) -> &Path {
        &self.recording.path
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Reads rows committed since the last poll, up to a cut taken now, at most
    /// [`POLL_ROWS`] per table. Returns the rows read and whether more were left for the next
    /// poll.
    ///
    /// # Errors
    /// [`FileError`] when the file turns unreadable (deleted, corrupt, locked for 5 s).
    pub fn poll(&mut self) -> Result<(u64, bool), FileError> {
        self.learn_units()?;
        let path = self.recording.path.clone();
        let (book_cut, trades_cut) =
            take_cut(&self.conn, &self.recording).map_err(fail(&path, "looking for new rows"))?;
        let now = Instant::now();
        let (mut rows, mut more) = (0, false);
        // A table far ahead of the other waits: memory holds at most about POLL_ROWS rows of
        // each waiting for their place.
        let (book_waiting, trades_waiting) = self.merge.waiting();
        // A table whose unit is not known yet (it had no timestamp when the file was opened)
        // is not read: its rows would all be bad.
        let book_known = self.book.as_ref().is_some_and(|t| t.decoder.unit.is_some());
        let trades_known = self
            .trades
            .as_ref()
            .is_some_and(|t| t.decoder.unit.is_some());
        let book_cut = book_cut.filter(|_| book_waiting < POLL_ROWS && book_known);
        let trades_cut = trades_cut.filter(|_| trades_waiting < POLL_ROWS && trades_known);
        if let (Some(table), Some(cut)) = (&mut self.book, book_cut) {
            let (read, left) = read_upto(&self.conn, table, cut, &mut |item| {
                self.merge.push_book(item, now)
            })
            .map_err(fail(&path, table.doing))?;
            rows += read;
            more |= left;
        }
        if let (Some(table), Some(cut)) = (&mut self.trades, trades_cut) {
            let (read, left) = read_upto(&self.conn, table, cut, &mut |item| {
                self.merge.push_trade(item, now)
            })
            .map_err(fail(&path, table.doing))?;
            rows += read;
            more |= left;
        }
        Ok((rows, more))
    }

    /// Learns the unit of the timestamps of a table that had none when the file was opened
    /// (SPEC 1.4: the unit of its first plausible timestamp), by opening the file afresh.
    fn learn_units(&mut self) -> Result<(), FileError> {
        let book_unknown = self.book.as_ref().is_some_and(|t| t.decoder.unit.is_none());
        let trades_unknown = self
            .trades
            .as_ref()
            .is_some_and(|t| t.decoder.unit.is_none());
        if !(book_unknown || trades_unknown)
            || self
                .units_looked
                .is_some_and(|at| at.elapsed() < UNITS_EVERY)
        {
            return Ok(());
        }
        self.units_looked = Some(Instant::now());
        let fresh = Recording::open(&self.recording.path, &self.recording.instrument)?;
        if let Some(book) = &mut self.book {
            book.decoder.unit = book.decoder.unit.or(fresh.info().book_unit);
        }
        if let Some(trades) = &mut self.trades {
            trades.decoder.unit = trades.decoder.unit.or(fresh.info().trades_unit);
        }
        Ok(())
    }

    /// The next record whose place in the time order is known, or that was read `hold` ago
    /// (see `tail_merge`); with `drain`, every record read.
    pub fn next(&mut self, hold: Duration, drain: bool) -> Option<(Record, Release)> {
        self.merge.next(Instant::now(), hold, drain)
    }

    /// Whether a row read since a record went out [`Release::Early`] belongs before it.
    pub fn inverted(&self) -> bool {
        self.merge.inverted()
    }

    /// Whether every record that went out early has found its place since.
    pub fn settled(&self) -> bool {
        self.merge.settled()
    }

    /// The records that went out early are kept as they went.
    pub fn settle(&mut self) {
        self.merge.settle();
    }

    /// Takes back the records given since the last [`Tail::settle`], in the order they were
    /// given, to give them again in the order now known.
    pub fn requeue(&mut self, records: Vec<Record>, hold: Duration) {
        self.merge.requeue(records, Instant::now(), hold);
    }

    /// Records read and not yet given.
    pub fn waiting(&self) -> usize {
        let (book, trades) = self.merge.waiting();
        book + trades
    }
}

/// Reads the rows of `table` after its last one up to `cut`, at most [`POLL_ROWS`], in
/// pieces. Returns the rows read and whether rows up to the cut are left.
fn read_upto<D: Decode>(
    conn: &Connection,
    table: &mut TailTable<D>,
    cut: i64,
    take: &mut dyn FnMut(Item),
) -> rusqlite::Result<(u64, bool)> {
    let mut read = 0;
    loop {
        if table.last.is_some_and(|last| last >= cut) {
            return Ok((read, false));
        }
        if read as usize >= POLL_ROWS {
            return Ok((read, true));
        }
        let from = match table.last {
            Some(last) => match last.checked_add(1) {
                Some(from) => from,
                None => return Ok((read, false)),
            },
            None => i64::MIN,
        };
        table.pieces.params[table.pieces.resume.from] = Value::Integer(from);
        let piece = read_piece(conn, table, cut, take)?;
        read += piece as u64;
        if piece == 0 {
            return Ok((read, false));
        }
    }
}

/// One statement: at most [`PIECE_ROWS`] rows or about [`PIECE`], then reset (its read
/// transaction ends with it).
fn read_piece<D: Decode>(
    conn: &Connection,
    table: &mut TailTable<D>,
    cut: i64,
    take: &mut dyn FnMut(Item),
) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(&table.pieces.sql)?;
    guard::touch();
    let started = Instant::now();
    let mut rows = stmt.query(rusqlite::params_from_iter(&table.pieces.params))?;
    let mut read = 0;
    while let Some(row) = rows.next()? {
        let item = table.decoder.decode(row)?;
        let id = item.record.id();
        if id > cut {
            break;
        }
        table.last = Some(id);
        take(item);
        read += 1;
        if read >= PIECE_ROWS || (read % 64 == 0 && started.elapsed() >= PIECE) {
            break;
        }
    }
    Ok(read)
}
