//! The merged stream of book rows and trades (SPEC 2.1), read on helper threads or inline.
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
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use std::time::Instant;

use rusqlite::types::Value;
use rusqlite::{Connection, InterruptHandle, Rows, Statement};

use crate::engine::{Event, Level, Millis};

use super::TimeUnit;
use super::fetch::{self, Fetcher, Fetching, PIECE, Resume};
use super::guard;
use super::reader::{FileError, Record, Recording};
use super::rows::{BookDecoder, Decode, Item, TradeDecoder};
use super::schema::{quote, seeks_by_rowid};

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
const RETURNED: usize = 32;
const SPARE: usize = 8;

/// What the reading threads need, all owned.
struct Plan {
    path: PathBuf,
    instrument: String,
    book: Option<BookPlan>,
    trades: Option<TradePlan>,
}

struct BookPlan {
    sql: String,
    /// Where `sql` resumes, for a table read in pieces.
    resume: Resume,
    /// The parameters of `sql` (the instrument, the ids it reads between).
    params: Vec<Value>,
    /// The same query for one range of ids, its last two parameters (`after < id < to`); only
    /// for a table read in pieces.
    range_sql: String,
    /// The smallest id, and the cut (the largest id when reading began).
    first_id_sql: String,
    cut: Option<i64>,
    unit: Option<TimeUnit>,
    has_action: bool,
    filtered: bool,
}

struct TradePlan {
    by_id: String,
    by_time: String,
    /// The ids and valid timestamps in `id` order, to find out whether the table is in time
    /// order; its parameter number `resume` is the id it starts after.
    check: String,
    /// Where `by_id` and `check` resume (the index of their `id > ?` parameter), for a table
    /// read in pieces.
    resume: Resume,
    /// The parameters of `by_id`, `by_time` and `check`.
    params: Vec<Value>,
    /// For a table read in pieces, the statements that copy the trades up to the cut into a
    /// temporary table, a range of ids at a time, and read them back in time order: a sort of
    /// the table itself would hold SQLite's lock for the whole sort.
    copy: Option<CopyPlan>,
    unit: Option<TimeUnit>,
}

struct CopyPlan {
    create: String,
    /// Copies the rows `?after < id <= ?upto` (the last two parameters).
    fill: String,
    by_time: String,
    first_id_sql: String,
    cut: i64,
}

/// How a stream brings the trades into time order (SPEC 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeOrder {
    /// A pass over the trades' timestamps first tells whether `id` order is time order; if
    /// not, SQLite sorts them. No trade can be merged before that pass has read the whole
    /// table (about a tenth of the reading of an hour), so the engine waits for it.
    Checked,
    /// The trades are streamed in `id` order at once, as recorders write them in time
    /// order, and watched as they are merged. Should one go back in time (or should the range
    /// end before the table does, and a trade left unread fall inside it), the stream ends
    /// with [`FileError::TradesOutOfOrder`]: its records were not the file's, and the caller
    /// starts over with [`TradeOrder::Checked`]. So is any other error, since a checked
    /// stream would have failed elsewhere.
    ///
    /// Only for a table whose `id` is the rowid (so that the trades left unread are those of a
    /// larger `id`); on any other a stream checks the order first.
    Trusted,
    /// Known not to be in time order by `id` (a trusting stream found it): sorted by SQLite
    /// at once, without the pass of [`TradeOrder::Checked`].
    Sorted,
}

/// A stream of records from one recording.
pub struct EventStream<'a> {
    _recording: PhantomData<&'a mut Recording>,
    plan: Arc<Plan>,
    book: Option<Book>,
    trades: Option<Fetching>,
    merge: Merge,
    /// Where level vectors go back to each book thread (see [`EventStream::recycle`]).
    spare: Vec<Returns>,
    finished: bool,
    /// Tells the trades thread not to start its query after the order check.
    stop: Arc<AtomicBool>,
    /// One per connection the threads read from.
    interrupts: Vec<InterruptHandle>,
    threads: Vec<JoinHandle<()>>,
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
            (Some(_), Some(_)) => (vec![conn], Some(super::reader::connect(&plan.path)?)),
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
            let second = super::reader::connect(&plan.path)?;
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

    fn spawn(
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
    fn confirm_order(&self) -> Result<(), FileError> {
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
        let conn = super::reader::connect(&self.plan.path)?;
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
    fn halt(&mut self) {
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
struct Returns {
    sender: SyncSender<Vec<Vec<Level>>>,
    /// Gathered for the next batch.
    gathered: Vec<Vec<Level>>,
}

/// The book rows: from one book thread, or from ranges read by two.
enum Book {
    One(Fetching),
    Ranges(Ranges),
}

impl Book {
    /// The book thread that read the last book row taken.
    fn worker(&self) -> usize {
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
const RANGES_AHEAD: usize = 4;

/// A range of ids for a book thread to read, and where its rows go.
struct Task {
    ids: (i64, i64),
    fetcher: Fetcher,
}

/// The book rows of ranges of ids read by two book threads ([`BookPlan::ranges`]): whichever
/// thread is free takes the next range, and the ranges are read here in order.
///
/// An earlier version gave each thread every other range. The thread whose range was not
/// being read then filled its channel and waited, while the consumer waited for the other:
/// about a fifth of the two cores' time went idle.
struct Ranges {
    /// The ranges queued, in order; the first is being read.
    pending: VecDeque<Fetching>,
    queue: Sender<Task>,
    /// The ranges not queued yet.
    left: std::vec::IntoIter<(i64, i64)>,
    path: PathBuf,
}

impl Ranges {
    /// Queues the next range, if there is one.
    fn queue_next(&mut self) {
        let Some(ids) = self.left.next() else {
            return;
        };
        let (fetcher, fetching) = fetch::channel(&self.path, BOOK, fetch::RANGE);
        // With the book threads gone, the range's channel reports it when read.
        let _ = self.queue.send(Task { ids, fetcher });
        self.pending.push_back(fetching);
    }

    /// The range being read, with an item at hand; `Ok(None)` after the last range.
    fn current(&mut self) -> Result<Option<&mut Fetching>, FileError> {
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

/// The largest `id` of each table read in pieces, both read in one statement, so in one
/// transaction: the rows a stream reads (see the module's documentation).
fn take_cut(
    conn: &Connection,
    recording: &Recording,
) -> rusqlite::Result<(Option<i64>, Option<i64>)> {
    let max = |keyed: bool, table: Option<(&String, &String)>| match (keyed, table) {
        (true, Some((table, id))) => format!("(SELECT max({}) FROM {})", quote(id), quote(table)),
        _ => "NULL".to_owned(),
    };
    let sql = format!(
        "SELECT {}, {}",
        max(
            recording.book_keyed,
            recording.book.as_ref().map(|c| (&c.table, &c.id))
        ),
        max(
            recording.trades_keyed,
            recording.trades.as_ref().map(|c| (&c.table, &c.id))
        ),
    );
    guard::touch();
    conn.query_row(&sql, [], |row| Ok((row.get(0)?, row.get(1)?)))
}

impl Plan {
    /// The queries of `recording`, up to the cut taken on `conn`.
    fn new(recording: &Recording, conn: &Connection) -> Result<Plan, FileError> {
        let info = recording.info();
        let (book_cut, trades_cut) =
            take_cut(conn, recording).map_err(fail(&recording.path, "starting to read"))?;
        let instrument = recording.instrument.clone();
        // The instrument (when the table has its column), then, for a table read in pieces,
        // the ids read between: `?after < id <= ?cut`.
        let bind = |filtered: bool, cut: Option<i64>| -> (Vec<Value>, Resume) {
            let mut params = Vec::new();
            if filtered {
                params.push(Value::Text(instrument.clone()));
            }
            let resume = cut.map(|cut| {
                params.extend([Value::Integer(i64::MIN), Value::Integer(cut)]);
                params.len() - 2
            });
            (params, resume)
        };
        // The WHERE clause: the instrument, and the ids for a table read in pieces.
        let condition = |col: &Option<String>, id: &str, keyed: bool, first: usize| {
            let mut parts = Vec::new();
            if let Some(col) = col {
                parts.push(same_instrument(col));
            }
            if keyed {
                parts.push(format!("{id} > ?{} AND {id} <= ?{}", first, first + 1));
            }
            if parts.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", parts.join(" AND "))
            }
        };
        let book = recording.book.as_ref().map(|c| {
            let action = match &c.action {
                Some(a) => format!(", {}", quote(a)),
                None => String::new(),
            };
            let (id, table) = (quote(&c.id), quote(&c.table));
            let select = format!(
                "SELECT {id}, {}, {}, {}{action} FROM {table}",
                quote(&c.timestamp),
                quote(&c.bids),
                quote(&c.asks),
            );
            let filtered = c.instrument.is_some();
            let first = if filtered { 2 } else { 1 };
            let (params, resume) = bind(filtered, book_cut);
            let range = format!("{id} > ?{} AND {id} < ?{}", first, first + 1);
            let range_filter = match &c.instrument {
                Some(col) => format!(" WHERE {} AND {range}", same_instrument(col)),
                None => format!(" WHERE {range}"),
            };
            BookPlan {
                sql: format!(
                    "{select}{} ORDER BY {id}",
                    condition(&c.instrument, &id, book_cut.is_some(), first)
                ),
                resume,
                params,
                range_sql: format!("{select}{range_filter} ORDER BY {id}"),
                first_id_sql: format!("SELECT min({id}) FROM {table}"),
                cut: book_cut,
                unit: info.book_unit,
                has_action: c.action.is_some(),
                filtered,
            }
        });
        let trades = recording.trades.as_ref().map(|c| {
            let (id, ts, table) = (quote(&c.id), quote(&c.timestamp), quote(&c.table));
            let filtered = c.instrument.is_some();
            let first = if filtered { 2 } else { 1 };
            let keyed = trades_cut.is_some();
            let (params, resume) = bind(filtered, trades_cut);
            let columns = format!(
                "{id}, {ts}, {}, {}, {}",
                quote(&c.price),
                quote(&c.size),
                quote(&c.side)
            );
            let select = format!(
                "SELECT {columns} FROM {table}{}",
                condition(&c.instrument, &id, keyed, first)
            );
            let unit = info.trades_unit;
            let key = |ts: &str| unit.unwrap_or(TimeUnit::Millis).sql_millis_key(ts);
            let copy = trades_cut.map(|cut| CopyPlan {
                create: format!(
                    "DROP TABLE IF EXISTS temp.orderflow_trades;
                     CREATE TEMP TABLE orderflow_trades AS
                     SELECT {id} AS id, {ts} AS ts, {}, {}, {} FROM {table} WHERE 0",
                    quote(&c.price),
                    quote(&c.size),
                    quote(&c.side)
                ),
                fill: format!("INSERT INTO temp.orderflow_trades {select}"),
                by_time: format!(
                    "SELECT * FROM temp.orderflow_trades ORDER BY {}, id",
                    key("ts")
                ),
                first_id_sql: format!("SELECT min({id}) FROM {table}"),
                cut,
            });
            TradePlan {
                by_id: format!("{select} ORDER BY {id}"),
                by_time: format!("{select} ORDER BY {}, {id}", key(&ts)),
                // Invalid timestamps are skipped in Rust, by the same test the decoder uses;
                // testing them in SQL as well made this pass a third slower.
                check: format!(
                    "SELECT {id}, {ts} FROM {table}{} ORDER BY {id}",
                    condition(&c.instrument, &id, keyed, first)
                ),
                resume,
                params,
                copy,
                unit,
            }
        });
        Ok(Plan {
            path: recording.path.clone(),
            instrument: recording.instrument.clone(),
            book,
            trades,
        })
    }
}

/// The condition that a row's instrument column `col` names the instrument `?1`, in any case.
///
/// The exact comparison comes first: recorders write the instrument as it is asked for, and
/// SQLite then skips the case-insensitive one, which cost a tenth of the order check of the
/// trades (the two give the same rows: equal text is equal in any case).
fn same_instrument(col: &str) -> String {
    let col = quote(col);
    format!("({col} = ?1 OR {col} = ?1 COLLATE NOCASE)")
}

/// Ids per range when the book is read by two threads (see [`BookPlan::ranges`]): about 9 k
/// levels of a typical update stream, under a millisecond of reading.
const RANGE_IDS: i64 = 512;

impl BookPlan {
    /// The ranges of ids `from..to` that split the book between two reading threads, which
    /// take them in turn from a queue (see [`Ranges`]); `None` when one thread reads it.
    ///
    /// Reading the book (SQLite's work and parsing the level text) is the largest stage of a
    /// run, about half of its CPU time, so with one thread it sets the pace and the second
    /// core idles whenever the engine waits for it. Two threads share it only where that is
    /// safe and cheap:
    /// - the table is read in pieces up to a cut: both connections see the same rows;
    /// - the table says whether each row is a snapshot (an `action` column): without one the
    ///   first valid row of the file is the snapshot, which only a single pass knows;
    /// - `id` is the table's rowid, so each range is a seek and not a scan (checked with
    ///   `EXPLAIN QUERY PLAN`);
    /// - there are at least four ranges, and a second core to run on.
    fn ranges(&self, conn: &Connection, plan: &Plan) -> Option<Vec<(i64, i64)>> {
        let last = self.cut?;
        if !self.has_action || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return None;
        }
        guard::touch();
        let first: Option<i64> = conn
            .query_row(&self.first_id_sql, [], |row| row.get(0))
            .ok()?;
        let first = first?;
        if last.checked_sub(first)? < 4 * RANGE_IDS {
            return None;
        }
        let mut params = plan.instrument_params(self.filtered);
        params.extend([Value::Integer(0), Value::Integer(1)]);
        if !seeks_by_rowid(conn, &self.range_sql, &params) {
            return None;
        }
        // Each range reads `after < id < to`; the last one ends at the cut.
        let ranges = (first..=last)
            .step_by(RANGE_IDS as usize)
            .map(|from| {
                (
                    from.saturating_sub(1),
                    from.saturating_add(RANGE_IDS).min(last + 1),
                )
            })
            .collect();
        Some(ranges)
    }

    fn decoder(&self, recycled: Option<Receiver<Vec<Vec<Level>>>>) -> BookDecoder {
        BookDecoder {
            unit: self.unit,
            has_action: self.has_action,
            seen_valid: false,
            scratch: Vec::new(),
            recycled,
            stash: Vec::new(),
        }
    }
}

impl Plan {
    /// The instrument, when the table has an instrument column: the first parameter of
    /// every query.
    fn instrument_params(&self, filtered: bool) -> Vec<Value> {
        if filtered {
            vec![Value::Text(self.instrument.clone())]
        } else {
            vec![]
        }
    }
}

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

/// What reading each table is called in error messages.
const BOOK: &str = "reading book rows";
const TRADES: &str = "reading trades";

/// Turns a SQLite error met while `doing` into a [`FileError`].
fn fail<'p>(path: &'p Path, doing: &'static str) -> impl Fn(rusqlite::Error) -> FileError + 'p {
    move |e| FileError::from_sqlite(path, doing, e)
}

impl TradePlan {
    /// The query that streams the trades in `(timestamp, id)` order, and where it resumes,
    /// once a pass over the table on `conn` has told whether `id` order is that order
    /// already. With [`TradeOrder::Sorted`] the sorting query, without the pass.
    /// `conn` should have `temp_store = FILE`, so that a large sort spills to disk.
    fn query<'p>(
        &'p self,
        conn: &Connection,
        path: &Path,
        order: TradeOrder,
    ) -> Result<(&'p str, &'p [Value], Resume), FileError> {
        let in_order = order != TradeOrder::Sorted
            && trades_in_time_order(conn, self, self.params.clone()).map_err(fail(path, TRADES))?;
        if in_order {
            return Ok((&self.by_id, &self.params, self.resume));
        }
        match &self.copy {
            Some(copy) => {
                copy.run(conn, &self.params).map_err(fail(path, TRADES))?;
                Ok((&copy.by_time, &[], None))
            }
            None => Ok((&self.by_time, &self.params, None)),
        }
    }
}

/// Ids copied per statement when trades are copied to be sorted: about a few milliseconds.
const COPY_IDS: i64 = 16_384;

impl CopyPlan {
    /// Copies the trades up to the cut into `temp.orderflow_trades`, a range of ids per
    /// statement, so that SQLite's lock on the file is only held for short moments.
    fn run(&self, conn: &Connection, params: &[Value]) -> rusqlite::Result<()> {
        conn.execute_batch("PRAGMA query_only = OFF")?;
        let copied = (|| {
            conn.execute_batch(&self.create)?;
            guard::touch();
            let first: Option<i64> = conn.query_row(&self.first_id_sql, [], |row| row.get(0))?;
            let Some(first) = first else { return Ok(()) };
            let mut fill = conn.prepare(&self.fill)?;
            let mut params = params.to_vec();
            let at = params.len() - 2;
            let mut after = first.saturating_sub(1);
            while after < self.cut {
                let upto = after.saturating_add(COPY_IDS).min(self.cut);
                params[at] = Value::Integer(after);
                params[at + 1] = Value::Integer(upto);
                guard::touch();
                fill.execute(rusqlite::params_from_iter(&params))?;
                after = upto;
            }
            Ok(())
        })();
        conn.execute_batch("PRAGMA query_only = ON")?;
        guard::touch();
        copied
    }
}

/// Where the merge takes the items of one table from.
///
/// The merge looks at the next item of each table and takes one of them: an item stays where
/// it was read until it is taken, and is moved once, into the record that goes out. Moving
/// each item (about 100 bytes) out of its batch into the merge and out again, several times
/// over, with the branches on the items held, took about a quarter of the merge's
/// instructions.
trait Source {
    /// The next item, left in place; `Ok(None)` at the end of the table.
    fn peek(&mut self) -> Result<Option<&Item>, FileError>;

    /// Takes the item [`Source::peek`] showed.
    fn take(&mut self) -> Option<Item>;
}

/// No such table: no items.
impl<S: Source> Source for Option<S> {
    fn peek(&mut self) -> Result<Option<&Item>, FileError> {
        match self {
            Some(source) => source.peek(),
            None => Ok(None),
        }
    }

    fn take(&mut self) -> Option<Item> {
        self.as_mut()?.take()
    }
}

/// A table read on the calling thread: in pieces, each read into `buffer` and the statement
/// then reset, for a table that can resume after an id; else in one run of the statement.
struct Cursor<'s, 'c, 'p, D> {
    reading: Reading<'s, 'c>,
    decoder: D,
    /// Rows read and not taken yet, in order.
    buffer: VecDeque<Item>,
    /// An error met after the rows in `buffer`, given once they are taken (SPEC 4: what was
    /// read before a file turned out corrupt is kept).
    failed: Option<rusqlite::Error>,
    path: &'p Path,
    doing: &'static str,
}

enum Reading<'s, 'c> {
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
const PIECE_ROWS: usize = 512;

impl<'s, 'c, 'p, D: Decode> Cursor<'s, 'c, 'p, D> {
    fn new(
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
    fn read(&mut self) -> rusqlite::Result<()> {
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

/// The merge of book rows with trades (SPEC 2.1), one record at a time, until the end of both
/// tables or the first event at or after the end of the range.
struct Merge {
    end: Millis,
    /// What the merge knows of the next item of each table: `None` until it has looked.
    book: Option<Head>,
    trades: Option<Head>,
    /// Rows taken so far, valid or not.
    rows: u64,
    ended: bool,
    /// Whether the merge stopped at an event at or after `end` (not at the end of the tables).
    stopped_at_end: bool,
    /// The order of trades trusted to be in time order ([`TradeOrder::Trusted`]).
    watch: Option<OrderWatch>,
}

/// What the merge knows of the next item of a table: enough to place it, while the item
/// itself stays in its source until taken.
#[derive(Debug, Clone, Copy)]
enum Head {
    /// The table has no more items.
    End,
    Next {
        /// The item's place in the merge ([`Item::key`]).
        key: Option<Millis>,
        /// A bad row, which goes out at once.
        bad: bool,
    },
}

impl Head {
    fn of(item: Option<&Item>) -> Head {
        match item {
            Some(item) => Head::Next {
                key: item.key,
                bad: matches!(item.record, Record::Bad(_)),
            },
            None => Head::End,
        }
    }
}

/// What a merge keeps to tell whether trades trusted to be in time order were.
#[derive(Debug)]
struct OrderWatch {
    /// The latest valid timestamp of the trades read.
    latest: Millis,
    /// The id of the last trade row taken, valid or not: the rows after it are unread.
    last_id: Option<i64>,
    /// A trade went back in time: the merge stopped there.
    broken: bool,
}

impl Default for OrderWatch {
    fn default() -> Self {
        OrderWatch {
            latest: Millis::MIN,
            last_id: None,
            broken: false,
        }
    }
}

impl Merge {
    fn new(end: Millis) -> Merge {
        Merge {
            end,
            book: None,
            trades: None,
            rows: 0,
            ended: false,
            stopped_at_end: false,
            watch: None,
        }
    }

    /// Whether every trade has been read.
    fn trades_done(&self) -> bool {
        matches!(self.trades, Some(Head::End))
    }

    /// The next record, `Ok(None)` at the end.
    ///
    /// A table's next row is read only when the record before it has gone out, at the next
    /// call: should that read fail (a corrupt page), the record read before it is kept
    /// (SPEC 4).
    fn next(
        &mut self,
        book: &mut impl Source,
        trades: &mut impl Source,
    ) -> Result<Option<Record>, FileError> {
        while !self.ended {
            let book_head = match self.book {
                Some(head) => head,
                None => *self.book.insert(Head::of(book.peek()?)),
            };
            let trade_head = match self.trades {
                Some(head) => head,
                None => {
                    let head = *self.trades.insert(Head::of(trades.peek()?));
                    if let (Some(watch), Head::Next { key: Some(ts), .. }) = (&mut self.watch, head)
                    {
                        if ts < watch.latest {
                            watch.broken = true;
                            break;
                        }
                        watch.latest = ts;
                    }
                    head
                }
            };
            // Book first on ties. A bad row is skipped (SPEC 4), so it takes no place in the
            // order and goes out at once, whatever its timestamp: a bad book row with a later
            // timestamp must not hold back the valid book rows behind it.
            let take_book = match (book_head, trade_head) {
                (Head::End, Head::End) => break,
                (Head::Next { .. }, Head::End) => true,
                (Head::End, Head::Next { .. }) => false,
                (Head::Next { bad: true, .. }, _) => true,
                (_, Head::Next { bad: true, .. }) => false,
                (Head::Next { key: b, .. }, Head::Next { key: t, .. }) => b <= t,
            };
            let taken = if take_book {
                self.book = None;
                book.take()
            } else {
                self.trades = None;
                trades.take()
            };
            let Some(item) = taken else {
                unreachable!("the item taken was there");
            };
            self.rows += 1;
            if let (Some(watch), false) = (&mut self.watch, take_book) {
                watch.last_id = Some(item.record.id());
            }
            match (&item.record, item.key) {
                // The first event at or after the end stops the file.
                (Record::Event(event), _) if event.ts() >= self.end => {
                    self.stopped_at_end = true;
                    break;
                }
                // A bad row past the end lies outside the range: not reported.
                (Record::Bad(_), Some(ts)) if ts >= self.end => {}
                _ => return Ok(Some(item.record)),
            }
        }
        self.ended = true;
        Ok(None)
    }
}

/// Whether the valid trade timestamps, in `id` order, never go down once converted to ms:
/// then streaming by `id` is streaming in `(timestamp, id)` order.
fn trades_in_time_order(
    conn: &Connection,
    plan: &TradePlan,
    params: Vec<Value>,
) -> rusqlite::Result<bool> {
    let Some(unit) = plan.unit else {
        // No valid timestamp at all: every row is bad, order does not matter.
        return Ok(true);
    };
    let mut last = Millis::MIN;
    let back_in_time = any_timestamp(conn, &plan.check, params, plan.resume, unit, |ms| {
        let back = ms < last;
        last = ms;
        back
    })?;
    Ok(!back_in_time)
}

/// Runs `sql`, whose columns are a trade's id and timestamp, and tells whether `found` holds
/// for any valid timestamp (in ms, by the decoder's test), stopping at the first. With
/// `resume`, in pieces that resume after the last id read.
fn any_timestamp(
    conn: &Connection,
    sql: &str,
    mut params: Vec<Value>,
    resume: Resume,
    unit: TimeUnit,
    mut found: impl FnMut(Millis) -> bool,
) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(sql)?;
    loop {
        guard::touch();
        let started = Instant::now();
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        let mut read: u32 = 0;
        loop {
            let Some(row) = rows.next()? else {
                return Ok(false);
            };
            let ms = super::reader::raw_of(row.get_ref(1)?).and_then(|raw| unit.to_millis(raw));
            if ms.is_some_and(&mut found) {
                return Ok(true);
            }
            read += 1;
            if let Some(at) = resume
                && read % 1024 == 0
                && started.elapsed() >= PIECE
            {
                params[at] = Value::Integer(row.get(0)?);
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::engine::{BookAction, BookRow, Side, Trade};
    use crate::source::{BadReason, BadRow, Table};

    /// Items from memory; an error ends it.
    struct Memory(VecDeque<Result<Item, FileError>>);

    impl Source for Memory {
        fn peek(&mut self) -> Result<Option<&Item>, FileError> {
            if let Some(Err(_)) = self.0.front()
                && let Some(Err(error)) = self.0.pop_front()
            {
                return Err(error);
            }
            Ok(self.0.front().and_then(|item| item.as_ref().ok()))
        }

        fn take(&mut self) -> Option<Item> {
            self.0.pop_front()?.ok()
        }
    }

    fn book(id: i64, ts: Millis) -> Result<Item, FileError> {
        Ok(Item {
            key: Some(ts),
            record: Record::Event(Event::Book(BookRow {
                id,
                ts,
                action: BookAction::Update,
                bids: Vec::new(),
                asks: Vec::new(),
            })),
        })
    }

    fn trade(id: i64, ts: Millis) -> Result<Item, FileError> {
        Ok(Item {
            key: Some(ts),
            record: Record::Event(Event::Trade(Trade {
                id,
                ts,
                price: 1.0,
                size: 1.0,
                side: Side::Buy,
            })),
        })
    }

    fn bad(table: Table, id: i64, key: Option<Millis>) -> Result<Item, FileError> {
        Ok(Item {
            key,
            record: Record::Bad(BadRow {
                table,
                id,
                reason: BadReason::Timestamp,
                detail: String::new(),
            }),
        })
    }

    fn corrupt() -> Result<Item, FileError> {
        Err(FileError::Corrupt {
            path: PathBuf::from("x.db"),
            detail: "a bad page".to_owned(),
        })
    }

    /// What the merge gives, as (table, id) pairs, and how it ended.
    fn run(
        end: Millis,
        book: Vec<Result<Item, FileError>>,
        trades: Vec<Result<Item, FileError>>,
    ) -> (Vec<(Table, i64)>, Result<(), FileError>, u64) {
        let (mut book, mut trades) = (Memory(book.into()), Memory(trades.into()));
        let mut merge = Merge::new(end);
        let mut out = Vec::new();
        loop {
            match merge.next(&mut book, &mut trades) {
                Ok(Some(record)) => out.push(match record {
                    Record::Event(Event::Book(row)) => (Table::Book, row.id),
                    Record::Event(Event::Trade(trade)) => (Table::Trades, trade.id),
                    Record::Bad(row) => (row.table, row.id),
                }),
                Ok(None) => return (out, Ok(()), merge.rows),
                Err(error) => return (out, Err(error), merge.rows),
            }
        }
    }

    const B: Table = Table::Book;
    const T: Table = Table::Trades;

    #[test]
    fn events_go_in_time_order_and_the_book_first_on_ties() {
        let (out, end, rows) = run(
            Millis::MAX,
            vec![book(1, 10), book(2, 20), book(3, 30)],
            vec![trade(1, 5), trade(2, 20), trade(3, 25), trade(4, 40)],
        );
        assert_eq!(
            out,
            [(T, 1), (B, 1), (B, 2), (T, 2), (T, 3), (B, 3), (T, 4)]
        );
        assert!(end.is_ok());
        assert_eq!(rows, 7);
    }

    #[test]
    fn bad_rows_go_out_at_once_and_take_no_place_in_the_order() {
        let (out, _, _) = run(
            Millis::MAX,
            vec![book(1, 10), bad(B, 2, Some(99)), book(3, 30)],
            vec![trade(1, 20), bad(T, 2, None), trade(3, 25)],
        );
        assert_eq!(out, [(B, 1), (B, 2), (T, 1), (T, 2), (T, 3), (B, 3)]);
    }

    #[test]
    fn the_first_event_at_the_end_stops_the_merge_and_later_bad_rows_are_not_reported() {
        let (out, end, rows) = run(
            30,
            vec![book(1, 10), bad(B, 2, Some(35)), book(3, 30), book(4, 40)],
            vec![trade(1, 20), trade(2, 50)],
        );
        // The bad row dated past the end is taken (and counted) but not reported; the book row
        // at 30 ends the merge, and nothing after it is read.
        assert_eq!(out, [(B, 1), (T, 1)]);
        assert!(end.is_ok());
        assert_eq!(rows, 4);
    }

    #[test]
    fn an_error_comes_after_the_records_read_before_it() {
        let (out, end, _) = run(
            Millis::MAX,
            vec![book(1, 10), corrupt(), book(3, 30)],
            vec![trade(1, 20)],
        );
        assert_eq!(out, [(B, 1)]);
        assert!(matches!(end, Err(FileError::Corrupt { .. })));
    }

    #[test]
    fn a_watched_trade_going_back_in_time_stops_the_merge() {
        let mut merge = Merge::new(Millis::MAX);
        merge.watch = Some(OrderWatch::default());
        let mut book = Memory(vec![book(1, 10), book(2, 30)].into());
        let mut trades = Memory(
            vec![
                trade(1, 20),
                bad(T, 2, None),
                bad(T, 3, Some(25)),
                trade(4, 24),
            ]
            .into(),
        );
        let mut out = Vec::new();
        while let Some(record) = merge.next(&mut book, &mut trades).unwrap() {
            out.push(record.id());
        }
        // A row without a valid timestamp is not watched; one with a valid timestamp is,
        // though the row is bad.
        assert_eq!(out, [1, 1, 2, 3]);
        let watch = merge.watch.as_ref().unwrap();
        assert!(watch.broken);
        assert_eq!(watch.last_id, Some(3));
        assert!(!merge.stopped_at_end);
    }

    #[test]
    fn a_watched_merge_that_stops_at_the_end_knows_which_trades_it_left_unread() {
        let mut merge = Merge::new(30);
        merge.watch = Some(OrderWatch::default());
        let mut book = Memory(vec![book(1, 10), book(2, 30)].into());
        let mut trades = Memory(vec![trade(7, 20), trade(8, 40), trade(9, 25)].into());
        while merge.next(&mut book, &mut trades).unwrap().is_some() {}
        let watch = merge.watch.as_ref().unwrap();
        assert!(!watch.broken);
        assert_eq!(watch.last_id, Some(7));
        assert!(merge.stopped_at_end);
        assert!(!merge.trades_done());
    }

    #[test]
    fn a_missing_table_is_no_items() {
        let mut merge = Merge::new(Millis::MAX);
        let mut book = Some(Memory(vec![book(1, 10)].into()));
        let mut none: Option<Memory> = None;
        assert!(matches!(merge.next(&mut book, &mut none), Ok(Some(_))));
        assert!(matches!(merge.next(&mut book, &mut none), Ok(None)));
        assert!(matches!(merge.next(&mut book, &mut none), Ok(None)));
    }
}
