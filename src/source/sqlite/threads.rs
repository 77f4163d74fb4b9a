//! A recording's tables read on threads of their own (SPEC 2.1), for a [`super::Reader`].
//!
//! SQLite's cursors borrow their statement, which borrows the connection, so each table is
//! read on a thread of its own, on a connection of its own, and decoded there: the book thread
//! parses the level text as SQLite hands it over, the trades thread checks (or trusts) the
//! trades' order and decodes them (`fetch.rs`). Both send decoded items over bounded channels:
//! memory stays bounded, and reading overlaps with the engine's work. The reader merges what
//! they send on the caller's thread (`merge.rs`).
//!
//! A book keyed by its rowid, with an `action` column, is shared by two book threads, each
//! taking the next range of ids from a queue ([`Ranges`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use rusqlite::{Connection, InterruptHandle};

use super::connection::{BOOK, TRADES, connect, fail};
use super::cursor::Cursor;
use super::decode::TradeDecoder;
use super::fetch::{self, Fetcher, Fetching};
use super::order::TradeOrder;
use super::pages;
use super::plan::Plan;
use crate::engine::{BookRow, Level};
use crate::source::merge::{Item, Source};
use crate::source::record::FileError;

/// Level vectors go back to the book thread in batches of this many, a channel operation per
/// batch rather than per vector, and at most [`SPARE`] batches wait for it; a batch that finds
/// no room is dropped here. A vector freed here is memory the other thread allocated, so most
/// go back and the book thread frees what it has no use for (`BookDecoder::spare_vector`); the
/// bound keeps the vectors in flight, and so the peak memory, small. Vectors are only reused
/// for rows they fit (`fits` in `decode.rs`). The measurements behind these numbers are in
/// `BENCHMARKS.md` (third and fourth rounds).
pub(super) const RETURNED: usize = 32;
pub(super) const SPARE: usize = 8;

/// The two tables of one recording, each read and decoded on threads of their own, for the
/// merge of a [`super::Reader`].
pub(super) struct Threads {
    pub(super) book: Option<Book>,
    pub(super) trades: Option<Fetching>,
    /// Where level vectors go back to each book thread (see [`Threads::recycle`]).
    spare: Vec<Returns>,
    /// Tells the trades thread not to start its query after the order check.
    stop: Arc<AtomicBool>,
    /// One per connection the threads read from.
    interrupts: Vec<InterruptHandle>,
    threads: Vec<JoinHandle<()>>,
}

impl Threads {
    /// Starts the threads: each table is read and decoded on a thread of its own, on a
    /// connection of its own (`fetch.rs`), `conn` being the first; the reader merges what
    /// they send. `trusted`: the trades are read by `id` at once ([`TradeOrder::Trusted`]).
    pub(super) fn start(
        plan: &Arc<Plan>,
        conn: Connection,
        order: TradeOrder,
        trusted: bool,
    ) -> Result<Threads, FileError> {
        // A table read in one pass needs SQLite's cache to hold no more than the b-tree's
        // interior pages; trades that are checked keep the default cache, which also sizes a
        // sort of trades out of time order.
        let small_cache = |conn: &Connection| {
            conn.execute_batch("PRAGMA cache_size = -256")
                .map_err(|e| FileError::from_sqlite(&plan.path, "setting up the connection", e))
        };
        if plan.book.is_some() {
            small_cache(&conn)?;
        }
        let ranges = match &plan.book {
            Some(b) => b.ranges(&conn, plan),
            _ => None,
        };
        let (mut book_conns, trades_conn) = match (&plan.book, &plan.trades) {
            (Some(_), Some(_)) => (vec![conn], Some(connect(&plan.path)?)),
            (Some(_), None) => (vec![conn], None),
            (None, _) => (vec![], Some(conn)),
        };
        if let (true, Some(conn)) = (trusted, &trades_conn) {
            small_cache(conn)?;
        }
        if let Some(conn) = &trades_conn {
            // Should the trades need sorting, let a large sort spill to disk instead of
            // memory. Set before any transaction: SQLite refuses to change temporary storage
            // under an open one.
            conn.execute_batch("PRAGMA temp_store = FILE")
                .map_err(fail(&plan.path, "sorting trades"))?;
        }
        if ranges.is_some() {
            let second = connect(&plan.path)?;
            small_cache(&second)?;
            book_conns.push(second);
        }
        let mut stream = Threads {
            book: None,
            trades: None,
            spare: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            interrupts: book_conns
                .iter()
                .chain(&trades_conn)
                .map(Connection::get_interrupt_handle)
                .collect(),
            threads: Vec::new(),
        };
        // Should a thread fail to start, dropping `stream` stops the ones started before.
        if let Some(ranges) = ranges {
            // Each book thread takes the next range from the queue; the consumer reads the
            // ranges in order and queues a new one for each it finishes.
            let (queue, tasks) = channel::<Task>();
            let tasks = Arc::new(Mutex::new(tasks));
            for (worker, conn) in book_conns.into_iter().enumerate() {
                let (spare, recycled) = sync_channel(SPARE);
                let (thread_plan, tasks) = (Arc::clone(plan), Arc::clone(&tasks));
                stream.spawn(&plan.path, "orderflow-book", move || {
                    let plan = thread_plan;
                    let Some(b) = &plan.book else { return };
                    let mut decoder = b.decoder(Some(recycled));
                    let params = plan.instrument_params(b.filtered);
                    let conn = Rc::new(conn);
                    let mut stmt = None;
                    let mut pages = None;
                    // The lock is held while waiting: the other thread would wait too.
                    while let Ok(Ok(task)) = tasks.lock().map(|tasks| tasks.recv()) {
                        let stmt = match &mut stmt {
                            Some(stmt) => stmt,
                            None => match Cursor::prepare(&conn, &b.range_sql) {
                                Ok(prepared) => {
                                    pages = b
                                        .range_direct
                                        .as_ref()
                                        .and_then(|direct| pages::open(&conn, direct, &plan.path));
                                    stmt.insert(prepared)
                                }
                                Err(e) => {
                                    let error = FileError::from_sqlite(&plan.path, BOOK, e);
                                    task.fetcher.fail(error);
                                    continue;
                                }
                            },
                        };
                        task.fetcher.run_range(
                            stmt,
                            &params,
                            task.ids,
                            worker,
                            &mut decoder,
                            &mut pages,
                        );
                    }
                })?;
                stream.spare.push(Returns {
                    sender: spare,
                    gathered: Vec::with_capacity(RETURNED),
                });
            }
            let mut book = Ranges {
                pending: VecDeque::new(),
                queue,
                left: ranges.into_iter(),
                path: plan.path.clone(),
            };
            for _ in 0..RANGES_AHEAD {
                book.queue_next();
            }
            stream.book = Some(Book::Ranges(book));
        } else if let Some(conn) = book_conns.pop() {
            let (spare, recycled) = sync_channel(SPARE);
            let (fetcher, fetching) = fetch::channel(&plan.path, BOOK, fetch::BOOK);
            let thread_plan = Arc::clone(plan);
            stream.spawn(&plan.path, "orderflow-book", move || {
                let plan = thread_plan;
                let Some(b) = &plan.book else { return };
                let mut decoder = b.decoder(Some(recycled));
                fetcher.run(&Rc::new(conn), b.copy.as_ref(), &b.read, &mut decoder);
            })?;
            stream.spare.push(Returns {
                sender: spare,
                gathered: Vec::with_capacity(RETURNED),
            });
            stream.book = Some(Book::One(fetching));
        }
        if let Some(conn) = trades_conn {
            let (fetcher, fetching) = fetch::channel(&plan.path, TRADES, fetch::TRADES);
            let stop = Arc::clone(&stream.stop);
            let thread_plan = Arc::clone(plan);
            stream.spawn(&plan.path, "orderflow-trades", move || {
                let plan = thread_plan;
                let Some(t) = &plan.trades else { return };
                let mut decoder = TradeDecoder { unit: t.unit };
                // The pass that checks the order of the trades (or sorts them) runs here,
                // while the book thread reads ahead.
                let order = if trusted { TradeOrder::Trusted } else { order };
                let conn = Rc::new(conn);
                match t.prepare(&conn, &plan.path, order) {
                    // Between the two statements an interrupt finds nothing to stop.
                    Ok(_) if stop.load(Ordering::Relaxed) => {}
                    Ok(pieces) => fetcher.run(&conn, None, pieces, &mut decoder),
                    Err(error) => fetcher.fail(error),
                }
            })?;
            stream.trades = Some(fetching);
        }
        Ok(stream)
    }

    pub(super) fn spawn(
        &mut self,
        path: &Path,
        name: &str,
        body: impl FnOnce() + Send + 'static,
    ) -> Result<(), FileError> {
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(body)
            .map_err(|e| FileError::Sqlite {
                path: path.to_owned(),
                doing: "starting a reading thread",
                detail: e.to_string(),
            })?;
        self.threads.push(thread);
        Ok(())
    }
}

impl Threads {
    /// Hands a book row the caller is done with back to the book thread, which copies its next
    /// rows into the level vectors that fit them and frees the others: that thread then
    /// allocates little per row, and no vector is freed on this thread after being allocated
    /// on the other (which made the two threads contend for the allocator). Optional: a row
    /// simply dropped costs only that.
    ///
    /// The vectors go to the book thread whose range the stream is in, which is the one that
    /// parsed the row when it is recycled before the next record is taken: each thread
    /// allocates from an arena of its own, and vectors passed between arenas fragment both.
    pub(super) fn recycle(&mut self, row: BookRow) {
        let worker = self.book.as_ref().map_or(0, Book::worker);
        let Some(returns) = self.spare.get_mut(worker) else {
            return;
        };
        for levels in [row.bids, row.asks] {
            if levels.capacity() > 0 {
                returns.gathered.push(levels);
                if returns.gathered.len() == RETURNED {
                    let batch =
                        std::mem::replace(&mut returns.gathered, Vec::with_capacity(RETURNED));
                    // A full return channel means the thread has enough: drop these here.
                    let _ = returns.sender.try_send(batch);
                }
            }
        }
    }

    /// Stops the reading threads early: closing their channels stops them at their next batch,
    /// the stop flag before a query they have not started, and the interrupts in the middle of
    /// a long SQLite step (such as the order check of a day of trades, or a sort).
    pub(super) fn halt(&mut self) {
        self.book = None;
        self.trades = None;
        self.spare.clear();
        self.stop.store(true, Ordering::Relaxed);
        for interrupt in &self.interrupts {
            interrupt.interrupt();
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.halt();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Level vectors on their way back to one book thread.
pub(super) struct Returns {
    pub(super) sender: SyncSender<Vec<Vec<Level>>>,
    /// Gathered for the next batch.
    pub(super) gathered: Vec<Vec<Level>>,
}

/// The book rows: from one book thread, or from ranges read by two.
pub(super) enum Book {
    One(Fetching),
    Ranges(Ranges),
}

impl Book {
    /// The book thread that read the last book row taken.
    pub(super) fn worker(&self) -> usize {
        match self {
            Book::One(_) => 0,
            Book::Ranges(ranges) => ranges.pending.front().map_or(0, |range| range.worker),
        }
    }
}

impl Source for Book {
    fn peek(&mut self) -> Result<Option<&Item>, FileError> {
        match self {
            Book::One(fetching) => fetching.peek(),
            Book::Ranges(ranges) => match ranges.current()? {
                Some(range) => Ok(range.front()),
                None => Ok(None),
            },
        }
    }

    fn take(&mut self) -> Option<Item> {
        match self {
            Book::One(fetching) => fetching.take(),
            Book::Ranges(ranges) => ranges.pending.front_mut()?.take(),
        }
    }
}

impl Source for Fetching {
    fn peek(&mut self) -> Result<Option<&Item>, FileError> {
        self.fill()?;
        Ok(self.front())
    }

    fn take(&mut self) -> Option<Item> {
        Fetching::take(self)
    }
}

/// Ranges queued for the book threads ahead of the one being read: each fits in its channel
/// (`fetch::RANGE`), so this bounds the rows read ahead at about 35 k levels.
pub(super) const RANGES_AHEAD: usize = 4;

/// A range of ids for a book thread to read, and where its rows go.
pub(super) struct Task {
    pub(super) ids: (i64, i64),
    pub(super) fetcher: Fetcher,
}

/// The book rows of ranges of ids read by two book threads ([`BookPlan::ranges`]): whichever
/// thread is free takes the next range, and the ranges are read here in order.
/// (Taking turns instead, the thread whose range was not being read would fill its channel
/// and wait while the consumer waited for the other.)
pub(super) struct Ranges {
    /// The ranges queued, in order; the first is being read.
    pub(super) pending: VecDeque<Fetching>,
    pub(super) queue: Sender<Task>,
    /// The ranges not queued yet.
    pub(super) left: std::vec::IntoIter<(i64, i64)>,
    pub(super) path: PathBuf,
}

impl Ranges {
    /// Queues the next range, if there is one.
    pub(super) fn queue_next(&mut self) {
        let Some(ids) = self.left.next() else {
            return;
        };
        let (fetcher, fetching) = fetch::channel(&self.path, BOOK, fetch::RANGE);
        // With the book threads gone, the range's channel reports it when read.
        let _ = self.queue.send(Task { ids, fetcher });
        self.pending.push_back(fetching);
    }

    /// The range being read, with an item at hand; `Ok(None)` after the last range.
    pub(super) fn current(&mut self) -> Result<Option<&mut Fetching>, FileError> {
        while let Some(range) = self.pending.front_mut() {
            if range.fill()? {
                break;
            }
            self.pending.pop_front();
            self.queue_next();
        }
        Ok(self.pending.front_mut())
    }
}
