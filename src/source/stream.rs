//! The merged stream of book rows and trades (SPEC 2.1), read on a helper thread or inline.
//!
//! SQLite's cursors borrow their statement, which borrows the connection; holding two of them
//! in a struct that the caller pulls from is not possible in safe Rust. So a helper thread owns
//! the connection and both cursors, merges and parses, and hands batches of records over a
//! bounded channel: memory stays bounded, and parsing overlaps with the engine's work. For a
//! single-threaded run, [`read_inline`] runs the same merge on the caller's thread and pushes
//! the records to a closure instead.
//!
//! Book rows come in `id` order. Trades come in `(timestamp, id)` order: by `id` when the table
//! is already in time order (checked first with one pass over the timestamp column, on a
//! second connection while the first book rows are read ahead), otherwise sorted by SQLite,
//! whose sorter spills to temporary files.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rusqlite::{Connection, InterruptHandle, Rows};

use crate::engine::{Event, Level, Millis};

use super::TimeUnit;
use super::reader::{FileError, Record, Recording};
use super::rows::{BookDecoder, Item, TradeDecoder};
use super::schema::quote;

/// Records per message: large enough to make the channel cheap, small enough to stay light.
const BATCH: usize = 512;
/// Messages in flight.
const DEPTH: usize = 4;
/// Level vectors on their way back to the reader: about as many as the rows in flight.
const SPARE: usize = 2 * BATCH;

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
    interrupt: InterruptHandle,
    thread: Option<JoinHandle<()>>,
}

impl<'a> EventStream<'a> {
    pub(crate) fn start(
        recording: &'a mut Recording,
        conn: Connection,
        end: Millis,
    ) -> Result<EventStream<'a>, FileError> {
        let plan = Plan::new(recording, end);
        let interrupt = conn.get_interrupt_handle();
        let (sender, receiver) = sync_channel(DEPTH);
        let (spare, recycled) = sync_channel(SPARE);
        let thread = std::thread::Builder::new()
            .name("orderflow-reader".to_owned())
            .spawn(move || produce(&conn, &plan, &sender, recycled))
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
            interrupt,
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
                    return Err(FileError::Sqlite {
                        path: self.path.clone(),
                        doing: "reading rows",
                        detail: "the reader thread stopped unexpectedly (a bug: please report it)"
                            .to_owned(),
                    });
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
        // Closing the channel stops the thread at its next batch; the interrupt stops a long
        // SQLite step (such as a sort) sooner.
        self.receiver = None;
        self.interrupt.interrupt();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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
    let result = merge(&conn, &plan, &mut batch, None);
    if batch.flush().is_err() {
        return Ok(());
    }
    result
}

/// The helper thread's body: merge, parse, send; report how it ended.
fn produce(
    conn: &Connection,
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
    let result = merge(conn, plan, &mut batch, Some(recycled));
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

/// A cursor over one table with its decoder.
struct Source<'s, D> {
    rows: Rows<'s>,
    decoder: D,
}

fn merge(
    conn: &Connection,
    plan: &Plan,
    batch: &mut Batch<'_>,
    mut recycled: Option<Receiver<Vec<Level>>>,
) -> Result<(), FileError> {
    let path = plan.path.as_path();
    let fail = |doing| move |e| FileError::from_sqlite(path, doing, e);
    let params = |filtered: bool| -> Vec<&str> {
        if filtered {
            vec![plan.instrument.as_str()]
        } else {
            vec![]
        }
    };

    if plan.trades.is_some() {
        // Should the trades need sorting, let a large sort spill to disk instead of memory.
        // Set before any statement runs; nothing else here uses temporary storage.
        conn.execute_batch("PRAGMA temp_store = FILE")
            .map_err(fail("sorting trades"))?;
    }
    let mut book_stmt = match &plan.book {
        Some(b) => Some(conn.prepare(&b.sql).map_err(fail("reading book rows"))?),
        None => None,
    };
    let mut book = match (&mut book_stmt, &plan.book) {
        (Some(stmt), Some(b)) => Some(Source {
            rows: stmt
                .query(rusqlite::params_from_iter(params(b.filtered)))
                .map_err(fail("reading book rows"))?,
            decoder: BookDecoder {
                unit: b.unit,
                has_action: b.has_action,
                seen_valid: false,
                scratch: Vec::new(),
                recycled: recycled.take(),
            },
        }),
        _ => None,
    };

    // Whether trades can be streamed by `id` takes a pass over the trades table. It runs on a
    // second connection while this thread reads and parses the first book rows ahead, so the
    // pass costs no time on the path of the run (the consumer is idle until the first batch).
    let mut ahead = Lookahead::default();
    let in_order = std::thread::scope(|scope| -> Result<bool, FileError> {
        let Some(t) = &plan.trades else {
            return Ok(true);
        };
        let check = || -> Result<bool, FileError> {
            let other = super::reader::connect(path, plan.immutable)?;
            trades_in_time_order(&other, t, params(t.filtered)).map_err(fail("reading trades"))
        };
        let spawned = std::thread::Builder::new()
            .name("orderflow-check".to_owned())
            .spawn_scoped(scope, check);
        let Ok(handle) = spawned else {
            return check();
        };
        while !handle.is_finished() && ahead.has_room() {
            match next_book_row(&mut book, path) {
                Ok(Some(item)) => ahead.push(item),
                Ok(None) => break,
                Err(error) => {
                    ahead.error = Some(error);
                    break;
                }
            }
        }
        handle.join().unwrap_or_else(|_| {
            Err(FileError::Sqlite {
                path: path.to_owned(),
                doing: "checking the order of trades",
                detail: "the checking thread stopped unexpectedly (a bug: please report it)"
                    .to_owned(),
            })
        })
    })?;
    let trades_sql = plan
        .trades
        .as_ref()
        .map(|t| if in_order { &t.by_id } else { &t.by_time });
    let mut trade_stmt = match trades_sql {
        Some(sql) => Some(conn.prepare(sql).map_err(fail("reading trades"))?),
        None => None,
    };
    let mut trades = match (&mut trade_stmt, &plan.trades) {
        (Some(stmt), Some(t)) => Some(Source {
            rows: stmt
                .query(rusqlite::params_from_iter(params(t.filtered)))
                .map_err(fail("reading trades"))?,
            decoder: TradeDecoder { unit: t.unit },
        }),
        _ => None,
    };

    // Rows read ahead go first, then an error met while reading them, then the cursor.
    let mut next_book = || -> Result<Option<Item>, FileError> {
        if let Some(item) = ahead.items.pop_front() {
            return Ok(Some(item));
        }
        if let Some(error) = ahead.error.take() {
            return Err(error);
        }
        next_book_row(&mut book, path)
    };
    let mut next_trade = || -> Result<Option<Item>, FileError> {
        let Some(source) = trades.as_mut() else {
            return Ok(None);
        };
        let fail = fail("reading trades");
        match source.rows.next().map_err(fail)? {
            Some(row) => Ok(Some(source.decoder.decode(row).map_err(fail)?)),
            None => Ok(None),
        }
    };

    let mut book_head = next_book()?;
    let mut trade_head = next_trade()?;
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
            trade_head = next_trade()?;
        }
    }
}

/// The next book row from its cursor.
fn next_book_row(
    book: &mut Option<Source<'_, BookDecoder>>,
    path: &std::path::Path,
) -> Result<Option<Item>, FileError> {
    let Some(source) = book.as_mut() else {
        return Ok(None);
    };
    let fail = |e| FileError::from_sqlite(path, "reading book rows", e);
    match source.rows.next().map_err(fail)? {
        Some(row) => Ok(Some(source.decoder.decode(row).map_err(fail)?)),
        None => Ok(None),
    }
}

/// Book rows read ahead while the order of trades is being checked, and the error that
/// stopped the reading, if one did. Bounded: at most about 2 MB of levels, enough to cover the
/// check on an hour of OKX data; a larger bound made a day's run peak 3 MB higher than an
/// hour's (the check takes longer there, so the read-ahead fills up).
#[derive(Default)]
struct Lookahead {
    items: VecDeque<Item>,
    /// Levels held, plus one per row.
    weight: usize,
    error: Option<FileError>,
}

impl Lookahead {
    const MAX_WEIGHT: usize = 1 << 17;

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
