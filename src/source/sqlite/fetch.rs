//! One table read and decoded on a thread of its own.
//!
//! Reading a recording is three jobs of about the same size: SQLite stepping through the book
//! table (pages, overflow chains, the row's text), parsing that text into levels, and the
//! engine's work on the events. On a machine with two cores, the stages are best laid out as
//! few threads with large, steady pieces of work, handing over as little as possible:
//!
//! - the book thread steps through the book table and parses each row as SQLite hands it over,
//!   straight from SQLite's buffer (nothing is copied between threads but the parsed levels);
//!   a book keyed by its rowid is shared by two such threads, each reading the next range of
//!   ids from a queue ([`Fetcher::run_range`], `threads.rs`);
//! - the trades thread reads and decodes the trades (after a pass that checks their order,
//!   unless the read trusts it, `TradeOrder` in `order.rs`);
//! - the consumer merges the two decoded streams (`merge.rs`) and runs the engine.
//!
//! Items go over a bounded channel in batches, so memory stays bounded and the reading runs
//! ahead of the consumer by a bounded number of batches.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use std::rc::Rc;

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::engine::Event;

use super::cursor::{Columns, Cursor};
use super::decode::Decode;
use super::guard;
use super::pages::{self, Pages};
use super::plan::{Copy, Pieces, Resume};
use crate::source::merge::Item;
use crate::source::record::{FileError, Record};

/// How long one piece of a table is read before its statement is reset. Each statement
/// holds SQLite's shared lock (in rollback-journal mode) until it is reset, and a recorder
/// cannot commit while any reader holds it: so no piece may hold it for long (SPEC 4: about
/// 100 ms at most), nor while waiting for the consumer.
pub(crate) const PIECE: Duration = Duration::from_millis(20);

/// How a table's items go over its channel: at most `items` per batch, and a batch goes out
/// once it holds `levels` levels (a single row may exceed it); at most `depth` batches wait.
/// A thread that waits on the other is woken once per batch, at a cost of some microseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(super) items: usize,
    pub(super) levels: usize,
    pub(super) depth: usize,
}

/// Book rows: enough levels in flight for the book thread to parse ahead while the trades'
/// order is checked; a larger bound only adds to the peak memory of long runs. Batches are
/// small enough that the consumer starts early.
pub(crate) const BOOK: Shape = Shape {
    items: 256,
    levels: 4096,
    depth: 16,
};

/// One range of book rows (see `threads.rs`): a range of a typical update stream fits in its
/// channel, so the thread reading it never waits for the consumer and goes on to the next.
pub(crate) const RANGE: Shape = Shape { depth: 4, ..BOOK };

/// Trades: consumed at the pace of the book rows, so the trades thread mostly waits for room;
/// large batches wake it less often. Eight of them let it run ahead while the consumer waits
/// for a range of book rows: with two, on a trade-heavy hour (3,400 trades a minute) it could
/// only get 36 s of market time ahead of the merge against the book threads' minutes, and
/// often stopped while the consumer waited on a book thread, leaving a core idle
/// (`perf sched`: a fifth of one core idle in 1–3 ms gaps). 4–10 % less wall time there in
/// three sittings, for 0.75 MB more in flight (BENCHMARKS.md, ninth round).
pub(crate) const TRADES: Shape = Shape {
    items: 1024,
    levels: usize::MAX,
    depth: 8,
};

/// What a fetching thread sends.
pub(super) enum Fetched {
    Items(VecDeque<Item>),
    /// Which of the book threads reads this range (see [`Fetcher::run_range`]).
    By(usize),
    /// The query is done.
    End,
    /// The query failed after the items sent before (a corrupt page): they stay valid.
    Failed(FileError),
}

/// A channel for the items of one table: the fetching thread's end, and the consumer's.
/// `doing` names the reading in error messages ("reading book rows").
pub(crate) fn channel(path: &Path, doing: &'static str, shape: Shape) -> (Fetcher, Fetching) {
    let (sender, receiver) = sync_channel(shape.depth);
    let (spare_sender, spare) = sync_channel(shape.depth + 2);
    let fetcher = Fetcher {
        path: path.to_owned(),
        doing,
        shape,
        sender,
        spare,
    };
    let fetching = Fetching {
        worker: 0,
        receiver,
        spare: spare_sender,
        current: VecDeque::new(),
        done: false,
        path: path.to_owned(),
        doing,
    };
    (fetcher, fetching)
}

/// The sending end: where a fetching thread's items go, and what to call its errors.
pub(crate) struct Fetcher {
    pub(super) path: PathBuf,
    pub(super) doing: &'static str,
    pub(super) shape: Shape,
    pub(super) sender: SyncSender<Fetched>,
    /// Batches the consumer has emptied, to fill again: allocating them on this thread to
    /// free them on the other makes both threads wait on the allocator.
    pub(super) spare: Receiver<VecDeque<Item>>,
}

impl Fetcher {
    /// Reads `pieces` on `conn`, after making `copy` if there is one, decodes the rows and
    /// sends them in batches until the end, an error, or the receiver going away.
    pub(super) fn run(
        &self,
        conn: &Rc<Connection>,
        copy: Option<&Copy>,
        pieces: &Pieces,
        decoder: &mut impl Decode,
    ) {
        if let Some(copy) = copy
            && let Err(e) = copy.run(conn)
        {
            return self.fail(self.error(e));
        }
        let mut stmt = match Cursor::prepare(conn, &pieces.sql) {
            Ok(stmt) => stmt,
            Err(e) => return self.fail(self.error(e)),
        };
        let (params, resume, until) = (pieces.params.clone(), pieces.resume, pieces.until);
        let mut pages = pieces
            .direct
            .as_ref()
            .and_then(|direct| pages::open(conn, direct, &self.path));
        if self.send_rows(&mut stmt, params, resume, until, decoder, &mut pages) {
            let _ = self.sender.send(Fetched::End);
        }
    }

    /// Runs `stmt`, whose last two parameters bound a range of ids (`from <= id <= upto`), on
    /// `(from, upto)` after `params`, as book thread number `worker`.
    pub fn run_range(
        &self,
        stmt: &mut Cursor,
        params: &[Value],
        (from, upto): (i64, i64),
        worker: usize,
        decoder: &mut impl Decode,
        pages: &mut Option<Pages>,
    ) {
        let mut bound = params.to_vec();
        let resume = Resume {
            from: bound.len(),
            key: 0,
        };
        bound.extend([Value::Integer(from), Value::Integer(upto)]);
        if self.sender.send(Fetched::By(worker)).is_ok()
            && self.send_rows(stmt, bound, resume, None, decoder, pages)
        {
            let _ = self.sender.send(Fetched::End);
        }
    }

    /// Sends the decoded rows of `stmt`; false when it failed (the error is sent) or the
    /// receiver has gone away.
    ///
    /// The rows are read in pieces: a piece ends after [`PIECE`], or when the consumer has no
    /// room for the next batch, and the statement is reset (which releases SQLite's lock)
    /// before waiting; the next piece starts after the last key read. The rows end at the
    /// first whose key is past `until`.
    pub(super) fn send_rows(
        &self,
        stmt: &mut Cursor,
        mut params: Vec<Value>,
        resume: Resume,
        until: Option<i64>,
        decoder: &mut impl Decode,
        pages: &mut Option<Pages>,
    ) -> bool {
        loop {
            guard::touch();
            let started = Instant::now();
            if let Err(e) = stmt.start(&params) {
                self.fail(self.error(e));
                return false;
            }
            // Whether this piece reads from the table's pages: after SQLite's first row, whose
            // step took the read lock (`pages.rs`).
            let mut scanning = false;
            // The pages met something they cannot read: the piece ends, and the next one (and
            // the rest of the table) is read through SQLite after the last row read.
            let mut surprised = false;
            // The id of the last row read in this piece (for a table keyed by its id).
            let mut read_last = None;
            // A batch that found no room, to send once the statement is reset.
            let waiting = loop {
                let mut batch = self
                    .spare
                    .try_recv()
                    .unwrap_or_else(|_| VecDeque::with_capacity(self.shape.items));
                let mut levels = 0;
                // The key of the last row, where it is not the record's id (a copy's rowid).
                let mut last_key = None;
                let failed = loop {
                    let decoded = match pages.as_mut().filter(|_| scanning) {
                        Some(reader) => match reader.next() {
                            Ok(Some(row)) => decoder.decode(&row),
                            Ok(None) => break Some(None),
                            Err(surprise) => {
                                pages::give_up(pages, &self.path, surprise);
                                surprised = true;
                                break None;
                            }
                        },
                        None => match stmt.next() {
                            Ok(Some(row)) => {
                                let decoded = decoder.decode(&row);
                                if resume.key != 0 {
                                    match row.integer(resume.key) {
                                        Ok(key) => last_key = Some(key),
                                        Err(e) => break Some(Some(e)),
                                    }
                                }
                                decoded
                            }
                            Ok(None) => break Some(None),
                            Err(e) => break Some(Some(e)),
                        },
                    };
                    match decoded {
                        Ok(item) if until.is_some_and(|until| item.record.id() > until) => {
                            break Some(None);
                        }
                        Ok(item) => {
                            levels += weight(&item);
                            let id = item.record.id();
                            read_last = Some(id);
                            batch.push_back(item);
                            if !scanning
                                && resume.key == 0
                                && let Some(reader) = pages.as_mut()
                            {
                                match reader.scan_after(id, &params) {
                                    Ok(()) => scanning = true,
                                    Err(surprise) => pages::give_up(pages, &self.path, surprise),
                                }
                            }
                            if batch.len() >= self.shape.items || levels >= self.shape.levels {
                                break None;
                            }
                        }
                        Err(e) => break Some(Some(e)),
                    }
                };
                let last = match resume.key {
                    0 => read_last,
                    _ => last_key,
                };
                let sent = match failed {
                    // The pages gave up before the batch's first row.
                    None if batch.is_empty() => None,
                    // More rows may follow: wait for room only once the lock is released.
                    None => match self.sender.try_send(Fetched::Items(batch)) {
                        Ok(()) => None,
                        Err(TrySendError::Full(batch)) => Some(batch),
                        Err(TrySendError::Disconnected(_)) => {
                            stmt.reset();
                            return false;
                        }
                    },
                    _ if batch.is_empty() => None,
                    _ => {
                        stmt.reset();
                        match self.sender.send(Fetched::Items(batch)) {
                            Ok(()) => None,
                            Err(_) => return false,
                        }
                    }
                };
                match failed {
                    None => {}
                    Some(None) => {
                        stmt.reset();
                        return true;
                    }
                    Some(Some(e)) => {
                        self.fail(self.error(e));
                        return false;
                    }
                }
                if let Some(last) = last
                    && (sent.is_some() || surprised || started.elapsed() >= PIECE)
                {
                    if !resume.after(&mut params, last) {
                        // The largest key there is: nothing can follow.
                        stmt.reset();
                        return sent.is_none_or(|batch| self.sender.send(batch).is_ok());
                    }
                    break sent;
                }
            };
            stmt.reset();
            if let Some(batch) = waiting {
                if self.sender.send(batch).is_err() {
                    return false;
                }
            }
        }
    }

    pub(super) fn error(&self, e: rusqlite::Error) -> FileError {
        FileError::from_sqlite(&self.path, self.doing, e)
    }

    /// Reports an error met before the query could run.
    pub fn fail(&self, error: FileError) {
        let _ = self.sender.send(Fetched::Failed(error));
    }
}

/// The receiving end: the items of one table, in order.
pub(crate) struct Fetching {
    /// The book thread that reads this range, once it has said so (see [`Fetched::By`]).
    pub worker: usize,
    pub(super) receiver: Receiver<Fetched>,
    pub(super) spare: SyncSender<VecDeque<Item>>,
    pub(super) current: VecDeque<Item>,
    pub(super) done: bool,
    pub(super) path: PathBuf,
    pub(super) doing: &'static str,
}

impl Fetching {
    /// Whether an item is at hand ([`Fetching::front`]): false at the end of the table (or
    /// range). Waits for the next batch when the current one is used up.
    #[inline]
    pub fn fill(&mut self) -> Result<bool, FileError> {
        if self.current.is_empty() {
            return self.refill();
        }
        Ok(true)
    }

    /// [`Fetching::fill`] once the current batch is used up: once a batch, so out of line.
    #[cold]
    pub(super) fn refill(&mut self) -> Result<bool, FileError> {
        while self.current.is_empty() {
            if self.done {
                return Ok(false);
            }
            match self.receiver.recv() {
                Ok(Fetched::Items(items)) => {
                    let emptied = std::mem::replace(&mut self.current, items);
                    if emptied.capacity() > 0 {
                        let _ = self.spare.try_send(emptied);
                    }
                }
                Ok(Fetched::By(worker)) => self.worker = worker,
                Ok(Fetched::End) => self.done = true,
                Ok(Fetched::Failed(error)) => {
                    self.done = true;
                    return Err(error);
                }
                Err(_) => {
                    // The thread is gone without saying why: it can only have panicked.
                    self.done = true;
                    return Err(FileError::Sqlite {
                        path: self.path.clone(),
                        doing: self.doing,
                        detail: "the reading thread stopped unexpectedly (a bug: please report it)"
                            .to_owned(),
                    });
                }
            }
        }
        Ok(true)
    }

    /// The next item, if [`Fetching::fill`] has found one; it stays until taken.
    #[inline]
    pub fn front(&self) -> Option<&Item> {
        self.current.front()
    }

    /// Takes the item [`Fetching::front`] shows.
    #[inline]
    pub fn take(&mut self) -> Option<Item> {
        self.current.pop_front()
    }
}

/// The levels an item holds: what it weighs in a batch.
pub(super) fn weight(item: &Item) -> usize {
    match &item.record {
        Record::Event(Event::Book(row)) => row.bids.len() + row.asks.len(),
        _ => 0,
    }
}
