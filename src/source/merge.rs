//! The merge of book rows with trades in time order (SPEC 2.1), over any source of decoded
//! items: pure, it knows nothing of SQLite, files or threads, so any source can reuse it.

use crate::engine::Millis;

use super::record::{FileError, Record};

/// A record with the timestamp that places it in the merge; `None` for a row whose timestamp
/// is invalid (it goes out as soon as it is met).
pub(crate) struct Item {
    pub key: Option<Millis>,
    pub record: Record,
}

/// Where the merge takes the items of one table from.
///
/// The merge looks at the next item of each table and takes one of them: an item stays where
/// it was read until it is taken, and is moved once, into the record that goes out (an item is
/// about 100 bytes; moving it around the merge was most of the merge's work).
pub(super) trait Source {
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

/// The merge of book rows with trades (SPEC 2.1), one record at a time, until the end of both
/// tables or the first event at or after the end of the range.
pub(super) struct Merge {
    pub(super) end: Millis,
    /// What the merge knows of the next item of each table: `None` until it has looked.
    pub(super) book: Option<Head>,
    pub(super) trades: Option<Head>,
    /// Rows taken so far, valid or not.
    pub(super) rows: u64,
    pub(super) ended: bool,
    /// Whether the merge stopped at an event at or after `end` (not at the end of the tables).
    pub(super) stopped_at_end: bool,
    /// The order of trades trusted to be in time order ([`TradeOrder::Trusted`]).
    pub(super) watch: Option<OrderWatch>,
}

/// What the merge knows of the next item of a table: enough to place it, while the item
/// itself stays in its source until taken.
#[derive(Debug, Clone, Copy)]
pub(super) enum Head {
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
    pub(super) fn of(item: Option<&Item>) -> Head {
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
pub(super) struct OrderWatch {
    /// The latest valid timestamp of the trades read.
    pub(super) latest: Millis,
    /// The id of the last trade row taken, valid or not: the rows after it are unread.
    pub(super) last_id: Option<i64>,
    /// A trade went back in time: the merge stopped there.
    pub(super) broken: bool,
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
    pub(super) fn new(end: Millis) -> Merge {
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
    pub(super) fn trades_done(&self) -> bool {
        matches!(self.trades, Some(Head::End))
    }

    /// The next record, `Ok(None)` at the end.
    ///
    /// A table's next row is read only when the record before it has gone out, at the next
    /// call: should that read fail (a corrupt page), the record read before it is kept
    /// (SPEC 4).
    #[inline]
    pub(super) fn next(
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use std::path::PathBuf;

    use crate::engine::{BookAction, BookRow, Event, Side, Trade};
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
                seq: None,
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
