//! The merged stream of book rows and trades (SPEC 2.1), read on helper threads.
//!
//! SQLite's cursors borrow their statement, which borrows the connection; holding two of them
//! in a struct that the caller pulls from is not possible in safe Rust. So each table is read
//! on a thread of its own, on a connection of its own, and decoded there: the book thread
//! parses the level text as SQLite hands it over, the trades thread checks the trades' order
//! and then decodes them (`fetch.rs`). Both send decoded items over bounded channels: memory
//! stays bounded, and reading overlaps with the engine's work. The merge runs on the caller's
//! thread, in [`EventStream::next`]. For a single-threaded run, [`read_inline`] runs the same
//! merge over cursors on the caller's thread and pushes the records to a closure instead.
//!
//! Book rows come in `id` order. Trades come in `(timestamp, id)` order: by `id` when the table
//! is already in time order, otherwise sorted by SQLite, whose sorter spills to temporary
//! files. Whether it is in time order is either checked first, with one pass over the
//! timestamp column while the book thread reads ahead ([`TradeOrder::Checked`]), or trusted
//! and watched as the trades stream ([`TradeOrder::Trusted`]).
//!
//! A recorder may be appending to the file while it is read (SPEC 4). So a stream first takes
//! a *cut*: the largest `id` of each table, both read in one transaction. Rows up to the cut
//! were committed together and never change (each table is an append-only log), so every
//! connection reads exactly them, whenever it reads: no transaction is seen half, and no row
//! committed after reading began is read. Tables whose `id` is the rowid are read in short
//! pieces that resume after the last id read (`fetch.rs`), so that no reader holds SQLite's
//! lock long enough to hold a rollback-journal recorder back.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use rusqlite::types::Value;
use rusqlite::{Connection, InterruptHandle};

use super::Recording;
use super::connection::{BOOK, TRADES, connect, fail};
use super::decode::TradeDecoder;
use super::fetch::{self, Fetcher, Fetching};
use super::order::{TradeOrder, any_timestamp};
use super::plan::Plan;
use crate::engine::{Event, Level, Millis};
use crate::source::merge::{Item, Merge, OrderWatch, Source};
use crate::source::record::{FileError, Record};

/// Level vectors go back to the book thread in batches of this many, a channel operation per
/// batch rather than per vector, and at most [`SPARE`] batches wait for it; a batch that finds
/// no room is dropped here.
///
/// Each vector dropped here is memory another thread allocated: its free misses this thread's
/// cache and takes the lock of the other thread's arena. With two batches waiting, those frees
/// were about a tenth of this thread's instructions; the book thread frees what it has no use
/// for itself (`BookDecoder::spare_vector`, `rows.rs`), where it is cheap. With eight, about
/// 45 k of the 72 k vectors of an hour are still dropped here under callgrind (whose threads
/// take turns), against 60 k. Sending every vector back, with no bound, left none to free
/// here but raised the peak memory of a day by about 0.8 MB, even when the book thread took
/// them after each of its waits, and not for want of reuse: freeing them all there did the
/// same.
///
/// Vectors are only reused for rows they fit (`fits` in `rows.rs`): a pool of vectors reused
/// for any row (there were 1024) held more memory the longer a run went, as each vector kept
/// the largest capacity it ever had, and cost CPU in regrowing and cutting back vectors passed
/// between rows of different sizes.
pub(super) const RETURNED: usize = 32;
pub(super) const SPARE: usize = 8;

/// A stream of records from one recording.
pub struct EventStream<'a> {
    pub(super) _recording: PhantomData<&'a mut Recording>,
    pub(super) plan: Arc<Plan>,
    pub(super) book: Option<Book>,
    pub(super) trades: Option<Fetching>,
    pub(super) merge: Merge,
    /// Where level vectors go back to each book thread (see [`EventStream::recycle`]).
    pub(super) spare: Vec<Returns>,
    pub(super) finished: bool,
    /// Tells the trades thread not to start its query after the order check.
    pub(super) stop: Arc<AtomicBool>,
    /// One per connection the threads read from.
    pub(super) interrupts: Vec<InterruptHandle>,
    pub(super) threads: Vec<JoinHandle<()>>,
}

impl<'a> EventStream<'a> {
    /// Starts the threads: each table is read and decoded on a thread of its own, on a
    /// connection of its own (`fetch.rs`); [`EventStream::next`] merges what they send.
    pub(crate) fn start(
        recording: &'a mut Recording,
        conn: Connection,
        end: Millis,
        order: TradeOrder,
    ) -> Result<EventStream<'a>, FileError> {
        let plan = Arc::new(Plan::new(recording, &conn)?);
        // The trades left unread are found by their ids (see `confirm_order`): `id` must be
        // the rowid, unique, for `id > last` to be all of them.
        let trusted = order == TradeOrder::Trusted
            && plan.trades.as_ref().is_some_and(|t| t.resume.is_some());
        // A table read in one pass needs SQLite's cache to hold no more than the b-tree's
        // interior pages. Trades that are checked keep the default 2 MB, which also sizes the
        // sort of trades out of time order; trusted ones are read in one pass, and with the
        // default cache a day's trades held 2 MB more at the peak than an hour's.
        let small_cache = |conn: &Connection| {
            conn.execute_batch("PRAGMA cache_size = -256")
                .map_err(|e| FileError::from_sqlite(&plan.path, "setting up the connection", e))
        };
        if plan.book.is_some() {
            small_cache(&conn)?;
        }
        let ranges = match &plan.book {
            Some(b) => b.ranges(&conn, &plan),
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
        let mut merge = Merge::new(end);
        if trusted {
            merge.watch = Some(OrderWatch::default());
        }
        let mut stream = EventStream {
            _recording: PhantomData,
            plan: Arc::clone(&plan),
            book: None,
            trades: None,
            merge,
            spare: Vec::new(),
            finished: false,
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
                let (thread_plan, tasks) = (Arc::clone(&plan), Arc::clone(&tasks));
                stream.spawn(&plan.path, "orderflow-book", move || {
                    let plan = thread_plan;
                    let Some(b) = &plan.book else { return };
                    let mut decoder = b.decoder(Some(recycled));
                    let params = plan.instrument_params(b.filtered);
                    let mut stmt = None;
                    // The lock is held while waiting: the other thread would wait too.
                    while let Ok(Ok(task)) = tasks.lock().map(|tasks| tasks.recv()) {
                        let stmt = match &mut stmt {
                            Some(stmt) => stmt,
                            None => match conn.prepare(&b.range_sql) {
                                Ok(prepared) => stmt.insert(prepared),
                                Err(e) => {
                                    let error = FileError::from_sqlite(&plan.path, BOOK, e);
                                    task.fetcher.fail(error);
                                    continue;
                                }
                            },
                        };
                        task.fetcher
                            .run_range(stmt, &params, task.ids, worker, &mut decoder);
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
            let thread_plan = Arc::clone(&plan);
            stream.spawn(&plan.path, "orderflow-book", move || {
                let plan = thread_plan;
                let Some(b) = &plan.book else { return };
                let mut decoder = b.decoder(Some(recycled));
                fetcher.run(&conn, &b.sql, &b.params, b.resume, &mut decoder);
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
            let thread_plan = Arc::clone(&plan);
            stream.spawn(&plan.path, "orderflow-trades", move || {
                let plan = thread_plan;
                let Some(t) = &plan.trades else { return };
                let mut decoder = TradeDecoder { unit: t.unit };
                if trusted {
                    return fetcher.run(&conn, &t.by_id, &t.params, t.resume, &mut decoder);
                }
                // The pass that checks the order of the trades runs here, while the book
                // thread reads ahead.
                match t.query(&conn, &plan.path, order) {
                    // Between the two statements an interrupt finds nothing to stop.
                    Ok(_) if stop.load(Ordering::Relaxed) => {}
                    Ok((sql, params, resume)) => {
                        fetcher.run(&conn, sql, params, resume, &mut decoder)
                    }
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

impl EventStream<'_> {
    /// The next record, `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`FileError`] when the file turns out corrupt midway; what came before stays valid.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Record>, FileError> {
        if self.finished {
            return Ok(None);
        }
        let end = match self.merge.next(&mut self.book, &mut self.trades) {
            Ok(Some(record)) => return Ok(Some(record)),
            end => end,
        };
        self.finished = true;
        self.halt();
        match end {
            Ok(None) if self.merge.watch.is_some() => self.confirm_order().map(|()| None),
            end => end,
        }
    }

    /// At the end of a stream that trusted the trades' order: whether they were in order.
    /// Those merged were watched; should the range have ended before the trades did, those
    /// left unread must all lie at or after its end, or one of them belonged in it.
    pub(super) fn confirm_order(&self) -> Result<(), FileError> {
        let out_of_order = || FileError::TradesOutOfOrder {
            path: self.plan.path.clone(),
        };
        let (Some(watch), Some(t)) = (&self.merge.watch, &self.plan.trades) else {
            return Ok(());
        };
        if watch.broken {
            return Err(out_of_order());
        }
        if !self.merge.stopped_at_end || self.merge.trades_done() {
            return Ok(());
        }
        let Some(unit) = t.unit else {
            return Ok(());
        };
        let conn = connect(&self.plan.path)?;
        let mut params = t.params.clone();
        if let (Some(at), Some(last)) = (t.resume, watch.last_id) {
            params[at] = Value::Integer(last);
        }
        let end = self.merge.end;
        let inside = any_timestamp(&conn, &t.check, params, t.resume, unit, |ms| ms < end)
            .map_err(fail(&self.plan.path, TRADES))?;
        if inside {
            return Err(out_of_order());
        }
        Ok(())
    }

    /// Hands an event the caller is done with back to the book thread, which copies its next
    /// rows into the level vectors that fit them and frees the others: that thread then
    /// allocates little per row, and no vector is freed on this thread after being allocated
    /// on the other (which made the two threads contend for the allocator). Optional: an event
    /// simply dropped costs only that.
    ///
    /// The vectors go to the book thread whose range the stream is in, which is the one that
    /// parsed the event when it is recycled before the next call to [`EventStream::next`]:
    /// each thread allocates from an arena of its own, and vectors passed between the two
    /// threads' arenas left both fragmented (a day's peak memory grew by about 1 MB).
    pub fn recycle(&mut self, event: Event) {
        let Event::Book(row) = event else {
            return;
        };
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

    /// Rows read so far (book and trades, valid or not), for progress.
    pub fn rows_read(&self) -> u64 {
        self.merge.rows
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

impl Drop for EventStream<'_> {
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
///
/// An earlier version gave each thread every other range. The thread whose range was not
/// being read then filled its channel and waited, while the consumer waited for the other:
/// about a fifth of the two cores' time went idle.
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
