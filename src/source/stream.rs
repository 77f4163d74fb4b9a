//! The merged stream of book rows and trades (SPEC 2.1), read on helper threads or inline.
//!
//! SQLite's cursors borrow their statement, which borrows the connection; holding two of them
//! in a struct that the caller pulls from is not possible in safe Rust. So a reader thread
//! merges and parses, and hands batches of records over a bounded channel: memory stays
//! bounded, and reading overlaps with the engine's work. With both tables, the book cursor runs
//! on a third thread that only copies rows out of SQLite (`fetch.rs`), while the reader thread
//! reads trades on a second connection, parses the level text and merges: SQLite's work and the
//! parsing are each about as large as the engine's, so three stages keep two cores busy where
//! two left the engine waiting. For a single-threaded run, [`read_inline`] runs the same merge
//! on the caller's thread and pushes the records to a closure instead.
//!
//! Book rows come in `id` order. Trades come in `(timestamp, id)` order: by `id` when the table
//! is already in time order (checked first with one pass over the timestamp column, while the
//! fetching thread reads the first book rows ahead), otherwise sorted by SQLite, whose sorter
//! spills to temporary files.
//!
//! With two connections, the book and the trades are each read in one read transaction of
//! their own: on a file that a recorder is still appending to, each table is a consistent
//! prefix, and the merge stops at the first event past the range end either way.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use rusqlite::{Connection, InterruptHandle, Rows};

use crate::engine::{Event, Level, Millis};

use super::TimeUnit;
use super::fetch::{self, Fetched, Fetcher, RawBatch};
use super::reader::{FileError, Record, Recording};
use super::rows::{BookDecoder, Decode, Item, TradeDecoder};
use super::schema::quote;

/// Records per message: large enough to make the channel cheap, small enough to stay light.
const BATCH: usize = 512;
/// Messages in flight.
const DEPTH: usize = 4;
/// Level vectors on their way back to the reader. Few: a steady run parses into the ones
/// that come back, and a larger pool (there were 1024) only held more memory the longer a
/// run went, as each vector kept the largest capacity it ever had.
const SPARE: usize = 64;

enum Message {
    Batch { records: Vec<Record>, rows: u64 },
    End,
    Failed(FileError),
}

/// What the helper thread needs, all owned.
struct Plan {
    path: PathBuf,
    /// How the file was opened, so a second connection opens it the same way.
    immutable: bool,
    instrument: String,
    end: Millis,
    book: Option<BookPlan>,
    trades: Option<TradePlan>,
}

struct BookPlan {
    sql: String,
    unit: Option<TimeUnit>,
    has_action: bool,
    filtered: bool,
}

struct TradePlan {
    by_id: String,
    by_time: String,
    /// The valid timestamps in `id` order, to find out whether the table is in time order.
    check: String,
    unit: Option<TimeUnit>,
    filtered: bool,
}

/// A stream of records from one recording.
pub struct EventStream<'a> {
    _recording: PhantomData<&'a mut Recording>,
    path: PathBuf,
    receiver: Option<Receiver<Message>>,
    /// Level vectors handed back to the reader thread (see [`EventStream::recycle`]).
    spare: SyncSender<Vec<Level>>,
    current: std::vec::IntoIter<Record>,
    rows_read: u64,
    finished: bool,
    /// One per connection the threads read from.
    interrupts: Vec<InterruptHandle>,
    thread: Option<JoinHandle<()>>,
}

impl<'a> EventStream<'a> {
    /// Starts the threads: each table is fetched from SQLite on a thread of its own
    /// (`fetch.rs`), on a connection of its own, and the reader thread parses the rows and
    /// merges them.
    pub(crate) fn start(
        recording: &'a mut Recording,
        conn: Connection,
        end: Millis,
    ) -> Result<EventStream<'a>, FileError> {
        let plan = Plan::new(recording, end);
        // The book is read in one pass: SQLite's cache needs to hold no more than the b-tree's
        // interior pages. The trades connection keeps its 2 MB, which also sizes the sort of
        // trades out of time order.
        if plan.book.is_some() {
            conn.execute_batch("PRAGMA cache_size = -256")
                .map_err(|e| FileError::from_sqlite(&plan.path, "setting up the connection", e))?;
        }
        let (book_conn, trades_conn) = match (&plan.book, &plan.trades) {
            (Some(_), Some(_)) => (
                Some(conn),
                Some(super::reader::connect(&plan.path, plan.immutable)?),
            ),
            (Some(_), None) => (Some(conn), None),
            (None, _) => (None, Some(conn)),
        };
        let interrupts = [&book_conn, &trades_conn]
            .into_iter()
            .flatten()
            .map(Connection::get_interrupt_handle)
            .collect();
        let (sender, receiver) = sync_channel(DEPTH);
        let (spare, recycled) = sync_channel(SPARE);
        let thread = std::thread::Builder::new()
            .name("orderflow-reader".to_owned())
            .spawn(move || produce(book_conn, trades_conn, &plan, &sender, recycled))
            .map_err(|e| FileError::Sqlite {
                path: recording.path.clone(),
                doing: "starting the reader thread",
                detail: e.to_string(),
            })?;
        Ok(EventStream {
            _recording: PhantomData,
            path: recording.path.clone(),
            receiver: Some(receiver),
            spare,
            current: Vec::new().into_iter(),
            rows_read: 0,
            finished: false,
            interrupts,
            thread: Some(thread),
        })
    }
}

impl EventStream<'_> {
    /// The next record, `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`FileError`] when the file turns out corrupt midway; what came before stays valid.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Record>, FileError> {
        loop {
            if let Some(record) = self.current.next() {
                return Ok(Some(record));
            }
            if self.finished {
                return Ok(None);
            }
            let message = self.receiver.as_ref().and_then(|r| r.recv().ok());
            match message {
                Some(Message::Batch { records, rows }) => {
                    self.rows_read += rows;
                    self.current = records.into_iter();
                }
                Some(Message::End) => self.finished = true,
                Some(Message::Failed(error)) => {
                    self.finished = true;
                    return Err(error);
                }
                None => {
                    // The thread is gone without saying why: it can only have panicked.
                    self.finished = true;
                    return Err(stopped(&self.path, "reading rows", "reader"));
                }
            }
        }
    }

    /// Hands an event the caller is done with back to the reader, whose next rows are parsed
    /// into its level vectors: the reader then allocates nothing per row, and the vectors are
    /// not freed on this thread after being allocated on the other (which made the two threads
    /// contend for the allocator). Optional: an event simply dropped costs only that.
    pub fn recycle(&mut self, event: Event) {
        if let Event::Book(row) = event {
            for levels in [row.bids, row.asks] {
                if levels.capacity() > 0 {
                    // A full return channel means enough spares: drop this one.
                    let _ = self.spare.try_send(levels);
                }
            }
        }
    }

    /// Rows read so far (book and trades, valid or not), for progress.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }
}

impl Drop for EventStream<'_> {
    fn drop(&mut self) {
        // Closing the channel stops the threads at their next batch; the interrupts stop a
        // long SQLite step (such as a sort) sooner.
        self.receiver = None;
        for interrupt in &self.interrupts {
            interrupt.interrupt();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The error for a helper thread gone without a word: it can only have panicked.
fn stopped(path: &Path, doing: &'static str, thread: &str) -> FileError {
    FileError::Sqlite {
        path: path.to_owned(),
        doing,
        detail: format!("the {thread} thread stopped unexpectedly (a bug: please report it)"),
    }
}

impl Plan {
    fn new(recording: &Recording, end: Millis) -> Plan {
        let info = recording.info();
        let filter = |col: &Option<String>| match col {
            Some(col) => format!(" WHERE {} = ?1 COLLATE NOCASE", quote(col)),
            None => String::new(),
        };
        let book = recording.book.as_ref().map(|c| {
            let action = match &c.action {
                Some(a) => format!(", {}", quote(a)),
                None => String::new(),
            };
            BookPlan {
                sql: format!(
                    "SELECT {}, {}, {}, {}{action} FROM {}{} ORDER BY {}",
                    quote(&c.id),
                    quote(&c.timestamp),
                    quote(&c.bids),
                    quote(&c.asks),
                    quote(&c.table),
                    filter(&c.instrument),
                    quote(&c.id),
                ),
                unit: info.book_unit,
                has_action: c.action.is_some(),
                filtered: c.instrument.is_some(),
            }
        });
        let trades = recording.trades.as_ref().map(|c| {
            let (id, ts) = (quote(&c.id), quote(&c.timestamp));
            let select = format!(
                "SELECT {id}, {ts}, {}, {}, {} FROM {}{}",
                quote(&c.price),
                quote(&c.size),
                quote(&c.side),
                quote(&c.table),
                filter(&c.instrument),
            );
            let unit = info.trades_unit;
            let key = unit.unwrap_or(TimeUnit::Millis).sql_millis_key(&ts);
            TradePlan {
                by_id: format!("{select} ORDER BY {id}"),
                by_time: format!("{select} ORDER BY {key}, {id}"),
                // Invalid timestamps are skipped in Rust, by the same test the decoder uses;
                // testing them in SQL as well made this pass a third slower.
                check: format!(
                    "SELECT {ts} FROM {}{} ORDER BY {id}",
                    quote(&c.table),
                    filter(&c.instrument),
                ),
                unit,
                filtered: c.instrument.is_some(),
            }
        });
        Plan {
            path: recording.path.clone(),
            immutable: info.immutable,
            instrument: recording.instrument.clone(),
            end,
            book,
            trades,
        }
    }
}

impl BookPlan {
    fn decoder(&self, recycled: Option<Receiver<Vec<Level>>>) -> BookDecoder {
        BookDecoder {
            unit: self.unit,
            has_action: self.has_action,
            seen_valid: false,
            scratch: Vec::new(),
            recycled,
        }
    }
}

impl Plan {
    /// The query parameters: the instrument when the table has an instrument column.
    fn params(&self, filtered: bool) -> Vec<&str> {
        if filtered {
            vec![self.instrument.as_str()]
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
    let plan = Plan::new(recording, end);
    let mut rows_read = 0;
    let mut deliver = |records: &mut Vec<Record>, rows: u64| {
        rows_read += rows;
        for record in records.drain(..) {
            if consume(record, rows_read).is_break() {
                return Err(Closed);
            }
        }
        Ok(())
    };
    let mut batch = Batch {
        records: Vec::with_capacity(BATCH),
        rows: 0,
        deliver: &mut deliver,
    };
    let result = (|| {
        let path = plan.path.as_path();
        let trades_sql = match &plan.trades {
            Some(t) => Some(t.sql(&conn, &plan)?),
            None => None,
        };
        let mut book_stmt = match &plan.book {
            Some(b) => Some(conn.prepare(&b.sql).map_err(fail(path, BOOK))?),
            None => None,
        };
        let mut trade_stmt = match trades_sql {
            Some(sql) => Some(conn.prepare(sql).map_err(fail(path, TRADES))?),
            None => None,
        };
        let book = match (&mut book_stmt, &plan.book) {
            (Some(stmt), Some(b)) => Feed::Cursor {
                rows: stmt
                    .query(rusqlite::params_from_iter(plan.params(b.filtered)))
                    .map_err(fail(path, BOOK))?,
                decoder: b.decoder(None),
            },
            _ => Feed::None,
        };
        let trades = match (&mut trade_stmt, &plan.trades) {
            (Some(stmt), Some(t)) => Feed::Cursor {
                rows: stmt
                    .query(rusqlite::params_from_iter(plan.params(t.filtered)))
                    .map_err(fail(path, TRADES))?,
                decoder: TradeDecoder { unit: t.unit },
            },
            _ => Feed::None,
        };
        merge(&plan, &mut batch, book, trades)
    })();
    if batch.flush().is_err() {
        return Ok(());
    }
    result
}

/// What reading each table is called in error messages.
const BOOK: &str = "reading book rows";
const TRADES: &str = "reading trades";

/// Turns a SQLite error met while `doing` into a [`FileError`].
fn fail<'p>(path: &'p Path, doing: &'static str) -> impl Fn(rusqlite::Error) -> FileError + 'p {
    move |e| FileError::from_sqlite(path, doing, e)
}

impl TradePlan {
    /// The query that streams the trades in `(timestamp, id)` order, once a pass over the
    /// table on `conn` has told whether `id` order is that order already.
    fn sql<'p>(&'p self, conn: &Connection, plan: &Plan) -> Result<&'p str, FileError> {
        // Should the trades need sorting, let a large sort spill to disk instead of memory.
        // Set before any statement runs on `conn`: SQLite refuses to change temporary storage
        // under an open transaction.
        conn.execute_batch("PRAGMA temp_store = FILE")
            .map_err(fail(&plan.path, "sorting trades"))?;
        let in_order = trades_in_time_order(conn, self, plan.params(self.filtered))
            .map_err(fail(&plan.path, TRADES))?;
        Ok(if in_order { &self.by_id } else { &self.by_time })
    }
}

/// The reader thread's body: fetch each table on a thread of its own, parse, merge, send;
/// report how it ended.
fn produce(
    book_conn: Option<Connection>,
    trades_conn: Option<Connection>,
    plan: &Plan,
    sender: &SyncSender<Message>,
    recycled: Receiver<Vec<Level>>,
) {
    let mut send = |records: &mut Vec<Record>, rows: u64| {
        let records = std::mem::replace(records, Vec::with_capacity(BATCH));
        sender
            .send(Message::Batch { records, rows })
            .map_err(|_| Closed)
    };
    let mut batch = Batch {
        records: Vec::with_capacity(BATCH),
        rows: 0,
        deliver: &mut send,
    };
    let path = plan.path.as_path();
    let interrupts: Vec<InterruptHandle> = [&book_conn, &trades_conn]
        .into_iter()
        .flatten()
        .map(Connection::get_interrupt_handle)
        .collect();
    let stop = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let book = match (&plan.book, book_conn) {
            (Some(b), Some(conn)) => {
                let decoder = b.decoder(Some(recycled));
                Feed::spawn(
                    scope,
                    "orderflow-book",
                    path,
                    BOOK,
                    decoder,
                    move |fetcher| {
                        fetcher.run(&conn, &b.sql, &plan.params(b.filtered));
                    },
                )?
            }
            _ => Feed::None,
        };
        let trades = match (&plan.trades, trades_conn) {
            (Some(t), Some(conn)) => {
                let decoder = TradeDecoder { unit: t.unit };
                let stop = &stop;
                Feed::spawn(
                    scope,
                    "orderflow-trades",
                    path,
                    TRADES,
                    decoder,
                    move |fetcher| {
                        // The pass that checks the order of the trades runs here, while the book
                        // rows are fetched ahead.
                        match t.sql(&conn, plan) {
                            // Between the two statements an interrupt finds nothing to stop.
                            Ok(_) if stop.load(Ordering::Relaxed) => {}
                            Ok(sql) => fetcher.run(&conn, sql, &plan.params(t.filtered)),
                            Err(error) => fetcher.fail(error),
                        }
                    },
                )?
            }
            _ => Feed::None,
        };
        let merged = merge(plan, &mut batch, book, trades);
        // The merge can stop early (the range ends, the consumer goes): a fetching thread may
        // then be deep in a long step, such as the pass that checks the order of the trades,
        // which the closed channel would stop only at its end. The scope waits for it.
        stop.store(true, Ordering::Relaxed);
        for interrupt in &interrupts {
            interrupt.interrupt();
        }
        merged
    });
    // Records read before an error are still valid: they go first.
    if batch.flush().is_err() {
        return;
    }
    let _ = sender.send(match result {
        Ok(()) => Message::End,
        Err(error) => Message::Failed(error),
    });
}

/// Hands over (and empties) a batch of records and the rows read for it.
type Deliver<'s> = &'s mut dyn FnMut(&mut Vec<Record>, u64) -> Result<(), Closed>;

/// Records gathered for delivery: over the channel, or straight to the consumer.
struct Batch<'s> {
    records: Vec<Record>,
    rows: u64,
    deliver: Deliver<'s>,
}

/// The consumer has gone away; reading stops.
struct Closed;

impl Batch<'_> {
    fn push(&mut self, record: Record) -> Result<(), Closed> {
        self.records.push(record);
        if self.records.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Closed> {
        if self.records.is_empty() && self.rows == 0 {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        (self.deliver)(&mut self.records, rows)
    }
}

/// Where the rows of one table come from, and how they become items.
enum Feed<'s, D> {
    /// The file has no such table.
    None,
    /// A cursor on this thread.
    Cursor { rows: Rows<'s>, decoder: D },
    /// A fetching thread.
    Fetched(Fetching<D>),
}

/// Rows as a fetching thread sends them, decoded one by one.
struct Fetching<D> {
    receiver: Receiver<Fetched>,
    /// Decoded batches go back for reuse.
    spare: SyncSender<RawBatch>,
    batch: RawBatch,
    next: usize,
    /// A message taken by [`Feed::ready`] and not yet used.
    pending: Option<Fetched>,
    done: bool,
    decoder: D,
    doing: &'static str,
}

impl<'s, D: Decode> Feed<'s, D> {
    /// Starts `body` on a fetching thread of `scope` with the sending end of the returned
    /// feed.
    fn spawn<'scope>(
        scope: &'scope std::thread::Scope<'scope, 's>,
        name: &str,
        path: &'s Path,
        doing: &'static str,
        decoder: D,
        body: impl FnOnce(Fetcher<'s>) + Send + 'scope,
    ) -> Result<Feed<'s, D>, FileError> {
        let (sender, receiver) = sync_channel(fetch::DEPTH);
        let (spare, spares) = sync_channel(fetch::DEPTH + 2);
        let fetcher = Fetcher {
            path,
            doing,
            sender,
            spare: spares,
        };
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn_scoped(scope, move || body(fetcher))
            .map_err(|e| FileError::Sqlite {
                path: path.to_owned(),
                doing: "starting a fetching thread",
                detail: e.to_string(),
            })?;
        Ok(Feed::Fetched(Fetching {
            receiver,
            spare,
            batch: RawBatch::default(),
            next: 0,
            pending: None,
            done: false,
            decoder,
            doing,
        }))
    }

    /// Whether [`Feed::next`] would answer without waiting for its fetching thread.
    fn ready(&mut self) -> bool {
        let Feed::Fetched(feed) = self else {
            return true;
        };
        if feed.next < feed.batch.len() || feed.done || feed.pending.is_some() {
            return true;
        }
        match feed.receiver.try_recv() {
            Ok(message) => {
                feed.pending = Some(message);
                true
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => true,
        }
    }

    /// The next item, `Ok(None)` at the end of the table.
    fn next(&mut self, path: &Path, doing: &'static str) -> Result<Option<Item>, FileError> {
        let fail = fail(path, doing);
        match self {
            Feed::None => Ok(None),
            Feed::Cursor { rows, decoder } => match rows.next().map_err(&fail)? {
                Some(row) => Ok(Some(decoder.decode(row).map_err(fail)?)),
                None => Ok(None),
            },
            Feed::Fetched(feed) => loop {
                if feed.next < feed.batch.len() {
                    let row = feed.batch.row(feed.next);
                    feed.next += 1;
                    return Ok(Some(feed.decoder.decode(&row).map_err(fail)?));
                }
                if feed.done {
                    return Ok(None);
                }
                let message = match feed.pending.take() {
                    Some(message) => Ok(message),
                    None => feed.receiver.recv(),
                };
                match message {
                    Ok(Fetched::Rows(batch)) => {
                        let used = std::mem::replace(&mut feed.batch, batch);
                        let _ = feed.spare.try_send(used);
                        feed.next = 0;
                    }
                    Ok(Fetched::End) => feed.done = true,
                    Ok(Fetched::Failed(error)) => {
                        feed.done = true;
                        return Err(error);
                    }
                    Err(_) => {
                        feed.done = true;
                        return Err(stopped(path, feed.doing, "fetching"));
                    }
                }
            },
        }
    }
}

/// Merges the book rows with the trades (SPEC 2.1) into `batch`, until the end of both, the
/// first event at or after the end of the range, or the consumer going away.
fn merge(
    plan: &Plan,
    batch: &mut Batch<'_>,
    mut book: Feed<'_, BookDecoder>,
    mut trades: Feed<'_, TradeDecoder>,
) -> Result<(), FileError> {
    let path = plan.path.as_path();
    // Until the trades are ready (their order is checked first, in a pass over the table),
    // book rows are parsed ahead, so that this thread works while the check runs.
    let mut ahead = Ahead::default();
    while !trades.ready() && ahead.has_room() {
        match book.next(path, BOOK) {
            Ok(Some(item)) => ahead.push(item),
            Ok(None) => break,
            Err(error) => {
                ahead.error = Some(error);
                break;
            }
        }
    }
    // Rows parsed ahead go first, then an error met while parsing them, then the feed.
    let mut next_book = || -> Result<Option<Item>, FileError> {
        if let Some(item) = ahead.items.pop_front() {
            return Ok(Some(item));
        }
        if let Some(error) = ahead.error.take() {
            return Err(error);
        }
        book.next(path, BOOK)
    };
    let mut book_head = next_book()?;
    let mut trade_head = trades.next(path, TRADES)?;
    loop {
        // Book first on ties. A bad row is skipped (SPEC 4), so it takes no place in the order
        // and goes out at once, whatever its timestamp: a bad book row with a later timestamp
        // must not hold back the valid book rows behind it.
        let is_bad = |item: &Item| matches!(item.record, Record::Bad(_));
        let take_book = match (&book_head, &trade_head) {
            (None, None) => return Ok(()),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(b), _) if is_bad(b) => true,
            (_, Some(t)) if is_bad(t) => false,
            (Some(b), Some(t)) => b.key <= t.key,
        };
        let item = if take_book {
            book_head.take()
        } else {
            trade_head.take()
        };
        if let Some(item) = item {
            batch.rows += 1;
            match (&item.record, item.key) {
                // The first event at or after the end stops the file.
                (Record::Event(event), _) if event_at_or_after(event, plan.end) => return Ok(()),
                // A bad row past the end lies outside the range: not reported.
                (Record::Bad(_), Some(ts)) if ts >= plan.end => {}
                _ => {
                    if batch.push(item.record).is_err() {
                        return Ok(());
                    }
                }
            }
        }
        // The next row is read only once the row taken is out: should that read fail (a
        // corrupt page), the row read before it is kept (SPEC 4).
        if take_book {
            book_head = next_book()?;
        } else {
            trade_head = trades.next(path, TRADES)?;
        }
    }
}

/// Book rows parsed ahead while the trades are not ready, and the error that stopped the
/// parsing, if one did. Bounded, and small: it holds what about 4 ms of parsing gives, the
/// time the order check of an hour of trades takes; a larger bound only adds to the peak
/// memory of long runs, whose check takes longer.
#[derive(Default)]
struct Ahead {
    items: VecDeque<Item>,
    /// Levels held, plus one per row.
    weight: usize,
    error: Option<FileError>,
}

impl Ahead {
    const MAX_WEIGHT: usize = 1 << 16;

    fn has_room(&self) -> bool {
        self.weight < Self::MAX_WEIGHT
    }

    fn push(&mut self, item: Item) {
        self.weight += 1 + match &item.record {
            Record::Event(Event::Book(row)) => row.bids.len() + row.asks.len(),
            _ => 0,
        };
        self.items.push_back(item);
    }
}

fn event_at_or_after(event: &Event, end: Millis) -> bool {
    event.ts() >= end
}

/// Whether the valid trade timestamps, in `id` order, never go down once converted to ms:
/// then streaming by `id` is streaming in `(timestamp, id)` order.
fn trades_in_time_order(
    conn: &Connection,
    plan: &TradePlan,
    params: Vec<&str>,
) -> rusqlite::Result<bool> {
    let Some(unit) = plan.unit else {
        // No valid timestamp at all: every row is bad, order does not matter.
        return Ok(true);
    };
    let mut stmt = conn.prepare(&plan.check)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut last = Millis::MIN;
    while let Some(row) = rows.next()? {
        let Some(ms) = super::reader::raw_of(row.get_ref(0)?).and_then(|r| unit.to_millis(r))
        else {
            continue;
        };
        if ms < last {
            return Ok(false);
        }
        last = ms;
    }
    Ok(true)
}
