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
pub(crate) struct TailMerge {
    book: VecDeque<(Item, Instant)>,
    trades: VecDeque<(Item, Instant)>,
    /// The latest valid timestamp read of each table, if any.
    book_seen: Option<Millis>,
    trades_seen: Option<Millis>,
    /// Whether the file has each table at all: a missing one holds nothing back.
    pub has_book: bool,
    pub has_trades: bool,
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
    pub fn push_book(&mut self, item: Item, at: Instant) {
        if let Some(key) = item.key {
            self.book_seen = Some(self.book_seen.map_or(key, |seen| seen.max(key)));
        }
        self.book.push_back((item, at));
    }

    /// A trade read at `at`: placed by `(timestamp, id)` among the trades waiting (SPEC 2.1),
    /// which is at the end when the recorder writes in time order.
    pub fn push_trade(&mut self, item: Item, at: Instant) {
        let Some(key) = item.key else {
            self.trades.push_back((item, at));
            return;
        };
        self.trades_seen = Some(self.trades_seen.map_or(key, |seen| seen.max(key)));
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
    pub fn next(&mut self, now: Instant, hold: Duration, drain: bool) -> Option<Record> {
        let waited = |at: &Instant| drain || now.saturating_duration_since(*at) >= hold;
        // A row without a valid timestamp takes no place in the order: out at once.
        for queue in [&mut self.book, &mut self.trades] {
            if queue.front().is_some_and(|(item, _)| item.key.is_none()) {
                return queue.pop_front().map(|(item, _)| item.record);
            }
        }
        let take_book = match (self.book.front(), self.trades.front()) {
            // SPEC 2.1: the book first on ties.
            (Some((b, _)), Some((t, _))) => b.key <= t.key,
            (Some((b, at)), None) => {
                if !(!self.has_trades || self.trades_seen >= b.key || waited(at)) {
                    return None;
                }
                true
            }
            (None, Some((t, at))) => {
                if !(!self.has_book || self.book_seen > t.key || waited(at)) {
                    return None;
                }
                false
            }
            (None, None) => return None,
        };
        let queue = if take_book {
            &mut self.book
        } else {
            &mut self.trades
        };
        queue.pop_front().map(|(item, _)| item.record)
    }

    /// Rows waiting.
    pub fn len(&self) -> usize {
        self.book.len() + self.trades.len()
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
            .map(|record| (matches!(record, Record::Event(Event::Book(_))), record.id()))
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
        assert_eq!(merge.len(), 1);
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
