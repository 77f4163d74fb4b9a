//! The time merge of SPEC 2.1 over tables that are still growing (SPEC 10.1): the rows read
//! so far wait here until their place in the order is known.
//!
//! A book row goes before every trade whose timestamp is not earlier; with both tables
//! written in time order, the book row at the head can go once a trade at or after its time
//! has been read (later trades come later still), and a trade once a book row after its time
//! has been read. When the other table is quiet (no trade for a while), a row would wait
//! forever: a row read `hold` ago goes out anyway, so that what the recorder commits is on the
//! page within a second. A row committed later with an earlier time than one already out is
//! then taken late (it still counts, in its own bar); a recorder that writes in time order
//! never does that, and the result is then exactly the merge of the whole file.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::engine::Millis;

use super::merge::Item;
use super::record::Record;

/// Rows read and not yet merged, each with the moment it was read.
#[derive(Default)]
pub struct TailMerge {
    book: VecDeque<(Item, Instant)>,
    trades: VecDeque<(Item, Instant)>,
    /// The latest valid timestamp read of each table, if any.
    book_seen: Option<Millis>,
    trades_seen: Option<Millis>,
    /// Whether the file has each table at all: a missing one holds nothing back.
    pub has_book: bool,
    pub has_trades: bool,
    /// The latest timestamp of each table among the rows that went out before their place
    /// was known (see [`Release::Early`]), since the caller last settled them.
    early_book: Option<Millis>,
    early_trades: Option<Millis>,
    /// Whether a row read since would have gone before one of those.
    inverted: bool,
}

/// How a record went out of the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Its place in the time order was known: no row read later goes before it.
    Known,
    /// It waited long enough: a row of the other table read later may belong before it
    /// ([`TailMerge::inverted`] then says so).
    Early,
}

impl TailMerge {
    pub fn new(has_book: bool, has_trades: bool) -> Self {
        TailMerge {
            has_book,
            has_trades,
            ..TailMerge::default()
        }
    }

    /// A book row read at `at` (rows come in `id` order).
    pub(crate) fn push_book(&mut self, item: Item, at: Instant) {
        if let Some(key) = item.key {
            self.book_seen = Some(self.book_seen.map_or(key, |seen| seen.max(key)));
            // A book row goes before a trade of the same time.
            self.inverted |= self.early_trades.is_some_and(|early| key <= early);
        }
        self.book.push_back((item, at));
    }

    /// A trade read at `at`: placed by `(timestamp, id)` among the trades waiting (SPEC 2.1),
    /// which is at the end when the recorder writes in time order.
    pub(crate) fn push_trade(&mut self, item: Item, at: Instant) {
        let Some(key) = item.key else {
            self.trades.push_back((item, at));
            return;
        };
        self.trades_seen = Some(self.trades_seen.map_or(key, |seen| seen.max(key)));
        self.inverted |= self.early_book.is_some_and(|early| key < early);
        let place = (key, item.record.id());
        let mut at_index = self.trades.len();
        while at_index > 0 {
            let before = &self.trades[at_index - 1].0;
            match before.key {
                Some(k) if (k, before.record.id()) > place => at_index -= 1,
                _ => break,
            }
        }
        self.trades.insert(at_index, (item, at));
    }

    /// The next record whose place is known, or that has waited `hold` since `now`; with
    /// `drain`, whatever comes next (the file is done).
    pub fn next(&mut self, now: Instant, hold: Duration, drain: bool) -> Option<(Record, Release)> {
        let waited = |at: &Instant| drain || now.saturating_duration_since(*at) >= hold;
        // A row without a valid timestamp takes no place in the order: out at once.
        for queue in [&mut self.book, &mut self.trades] {
            if queue.front().is_some_and(|(item, _)| item.key.is_none()) {
                return queue
                    .pop_front()
                    .map(|(item, _)| (item.record, Release::Known));
            }
        }
        let (take_book, release) = match (self.book.front(), self.trades.front()) {
            // SPEC 2.1: the book first on ties.
            (Some((b, _)), Some((t, _))) => (b.key <= t.key, Release::Known),
            (Some((b, at)), None) => {
                if !self.has_trades || self.trades_seen >= b.key {
                    (true, Release::Known)
                } else if waited(at) {
                    self.early_book = self.early_book.max(b.key);
                    (true, Release::Early)
                } else {
                    return None;
                }
            }
            (None, Some((t, at))) => {
                if !self.has_book || self.book_seen > t.key {
                    (false, Release::Known)
                } else if waited(at) {
                    self.early_trades = self.early_trades.max(t.key);
                    (false, Release::Early)
                } else {
                    return None;
                }
            }
            (None, None) => return None,
        };
        let queue = if take_book {
            &mut self.book
        } else {
            &mut self.trades
        };
        queue.pop_front().map(|(item, _)| (item.record, release))
    }

    /// Whether a row read after some went out early belongs before one of them: the records
    /// given since the caller's last look are then to be taken again ([`TailMerge::requeue`]).
    pub fn inverted(&self) -> bool {
        self.inverted
    }

    /// Whether every record that went out early has found its place since (the other table
    /// has been read past it).
    pub fn settled(&self) -> bool {
        self.early_book
            .is_none_or(|early| self.trades_seen >= Some(early))
            && self
                .early_trades
                .is_none_or(|early| self.book_seen > Some(early))
    }

    /// Forgets the records that went out early: the caller keeps them as they went.
    pub fn settle(&mut self) {
        self.early_book = None;
        self.early_trades = None;
        self.inverted = false;
    }

    /// Takes back `records`, given in this order since the caller last settled, to give them
    /// again in the order now known; they may go out at once.
    pub fn requeue(&mut self, records: Vec<Record>, now: Instant, hold: Duration) {
        self.settle();
        let at = now.checked_sub(hold).unwrap_or(now);
        for record in records.into_iter().rev() {
            let key = match &record {
                Record::Event(event) => Some(event.ts()),
                Record::Bad(_) => None,
            };
            let item = Item { key, record };
            match &item.record {
                Record::Event(crate::engine::Event::Trade(_)) => self.trades.push_front((item, at)),
                Record::Bad(bad) if bad.table == super::record::Table::Trades => {
                    self.trades.push_front((item, at))
                }
                _ => self.book.push_front((item, at)),
            }
        }
    }

    /// Book rows and trades waiting.
    pub fn waiting(&self) -> (usize, usize) {
        (self.book.len(), self.trades.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BookAction, BookRow, Event, Side, Trade};

    fn book(id: i64, ts: Millis) -> Item {
        Item {
            key: Some(ts),
            record: Record::Event(Event::Book(BookRow {
                id,
                ts,
                action: BookAction::Update,
                bids: Vec::new(),
                asks: Vec::new(),
                seq: None,
            })),
        }
    }

    fn trade(id: i64, ts: Millis) -> Item {
        Item {
            key: Some(ts),
            record: Record::Event(Event::Trade(Trade {
                id,
                ts,
                price: 1.0,
                size: 1.0,
                side: Side::Buy,
            })),
        }
    }

    /// `(is_book, id)` of the records that go out now.
    fn out(merge: &mut TailMerge, now: Instant, drain: bool) -> Vec<(bool, i64)> {
        std::iter::from_fn(|| merge.next(now, Duration::from_millis(100), drain))
            .map(|(record, _)| (matches!(record, Record::Event(Event::Book(_))), record.id()))
            .collect()
    }

    #[test]
    fn rows_go_in_time_order_once_the_other_table_has_caught_up() {
        let now = Instant::now();
        let mut merge = TailMerge::new(true, true);
        merge.push_book(book(1, 10), now);
        merge.push_book(book(2, 20), now);
        merge.push_trade(trade(1, 15), now);
        // Book 1 (10 <= 15), trade 1; book 2 waits: a trade before 20 may still come.
        assert_eq!(out(&mut merge, now, false), [(true, 1), (false, 1)]);
        merge.push_trade(trade(2, 20), now);
        // Book first on ties; trade 2 waits for a book row after 20.
        assert_eq!(out(&mut merge, now, false), [(true, 2)]);
        merge.push_book(book(3, 21), now);
        assert_eq!(out(&mut merge, now, false), [(false, 2)]);
        assert_eq!(
            merge.waiting(),
            (1, 0),
            "book row 3 waits for a trade at or after it"
        );
    }

    #[test]
    fn a_row_that_waited_long_enough_goes_out_and_drain_takes_the_rest() {
        let then = Instant::now();
        let mut merge = TailMerge::new(true, true);
        merge.push_book(book(1, 10), then);
        assert_eq!(out(&mut merge, then, false), []);
        let later = then + Duration::from_millis(150);
        assert_eq!(out(&mut merge, later, false), [(true, 1)]);
        merge.push_trade(trade(1, 5), later);
        assert_eq!(out(&mut merge, later, true), [(false, 1)]);
    }

    #[test]
    fn a_late_row_that_belongs_before_an_early_one_is_told_and_the_records_go_again() {
        let then = Instant::now();
        let later = then + Duration::from_millis(150);
        let mut merge = TailMerge::new(true, true);
        merge.push_book(book(1, 10), then);
        merge.push_book(book(2, 20), then);
        // No trade yet: both book rows go out early.
        let early: Vec<(Record, Release)> =
            std::iter::from_fn(|| merge.next(later, Duration::from_millis(100), false)).collect();
        assert!(early.iter().all(|(_, release)| *release == Release::Early));
        assert!(!merge.settled());
        // A trade at 15 belongs between them.
        merge.push_trade(trade(1, 15), later);
        assert!(merge.inverted());
        merge.requeue(
            early.into_iter().map(|(r, _)| r).collect(),
            later,
            Duration::from_millis(100),
        );
        assert_eq!(
            out(&mut merge, later, false),
            [(true, 1), (false, 1), (true, 2)]
        );
        assert!(!merge.inverted());
    }

    #[test]
    fn early_rows_settle_once_the_other_table_is_read_past_them() {
        let then = Instant::now();
        let later = then + Duration::from_millis(150);
        let mut merge = TailMerge::new(true, true);
        merge.push_book(book(1, 10), then);
        assert_eq!(out(&mut merge, later, false), [(true, 1)]);
        merge.push_trade(trade(1, 12), later);
        assert!(!merge.inverted() && merge.settled());
    }

    #[test]
    fn trades_are_placed_by_time_and_a_missing_table_holds_nothing_back() {
        let now = Instant::now();
        let mut merge = TailMerge::new(false, true);
        merge.push_trade(trade(1, 30), now);
        merge.push_trade(trade(2, 20), now);
        merge.push_trade(trade(3, 20), now);
        assert_eq!(
            out(&mut merge, now, false),
            [(false, 2), (false, 3), (false, 1)]
        );
    }
}
