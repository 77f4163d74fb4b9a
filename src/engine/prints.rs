//! Prints (SPEC 6.3): taker orders as the trades show them. A print is a maximal run of
//! trades consecutive in event order (no other event between them) with the same timestamp
//! and the same side.

use super::event::{Millis, Side, Trade};

/// One print: `size` is the sum of its trades' sizes, `vwap = sum(price × size) / size`, both
/// summed in event order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Print {
    pub ts: Millis,
    pub side: Side,
    pub vwap: f64,
    pub size: f64,
    /// Number of trades in the run.
    pub trades: u32,
}

/// The prints made or changed since the last [`PrintTape::take`]: `prints[i]` is the print
/// numbered `first + i` in the run (numbered from 0). The last one may still be open (a later
/// trade can extend it): a reader drops what it holds from `first` on and appends `prints`.
/// With nothing new, `prints` is empty (and `first` 0): the reader keeps what it holds.
///
/// The list is shared: the outputs that keep it (the live feed's push) hold it without a copy,
/// and a frame of a run at full speed carries a hundred thousand prints and more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrintChanges {
    pub first: u64,
    pub prints: std::sync::Arc<Vec<Print>>,
}

/// The run being built.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OpenPrint {
    ts: Millis,
    side: Side,
    size: f64,
    /// `sum(price × size)` in event order.
    notional: f64,
    trades: u32,
}

impl OpenPrint {
    fn print(&self) -> Print {
        Print {
            ts: self.ts,
            side: self.side,
            vwap: self.notional / self.size,
            size: self.size,
            trades: self.trades,
        }
    }
}

/// Prints closed and not yet taken, in event order: full chunks shared between the copies of a
/// tape, and the chunk being filled. A state that nobody takes from for long (a replay's
/// read-ahead, whose copies are its checkpoints) holds its prints once, not once a copy.
#[derive(Debug, Clone, Default, PartialEq)]
struct Closed {
    full: Vec<std::sync::Arc<[Print]>>,
    filling: Vec<Print>,
}

/// Prints in a chunk of [`Closed`].
const CHUNK: usize = 4096;

impl Closed {
    fn push(&mut self, print: Print) {
        self.filling.push(print);
        if self.filling.len() == CHUNK {
            self.full.push(std::mem::take(&mut self.filling).into());
        }
    }

    fn is_empty(&self) -> bool {
        self.full.is_empty() && self.filling.is_empty()
    }

    fn len(&self) -> usize {
        self.full.len() * CHUNK + self.filling.len()
    }

    /// All of them, in order, with room for `more`; leaves none.
    fn take(&mut self, more: usize) -> Vec<Print> {
        if self.full.is_empty() && self.filling.capacity() >= self.filling.len() + more {
            return std::mem::take(&mut self.filling);
        }
        let mut all = Vec::with_capacity(self.full.len() * CHUNK + self.filling.len() + more);
        for chunk in self.full.drain(..) {
            all.extend_from_slice(&chunk);
        }
        all.append(&mut self.filling);
        all
    }
}

/// Cuts the event sequence into prints, holding only the prints not yet taken: memory does
/// not grow with the run as long as someone takes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrintTape {
    open: Option<OpenPrint>,
    /// Prints closed and not yet taken, in event order.
    closed: Closed,
    /// Number of prints closed in the run; the open one, if any, is numbered so.
    made: u64,
    /// Number of prints closed and taken.
    taken: u64,
    /// Whether the open print was taken as it is now.
    open_taken: bool,
    /// Whether closed prints are kept until taken; without a reader they are only counted.
    dropping: bool,
}

impl PrintTape {
    pub fn new() -> PrintTape {
        PrintTape::default()
    }

    /// A trade: extends the open print when it has the same timestamp and side, else closes
    /// it and opens another.
    #[inline]
    pub fn trade(&mut self, trade: &Trade) {
        let (notional, size) = (trade.price * trade.size, trade.size);
        if let Some(open) = &mut self.open
            && open.ts == trade.ts
            && open.side == trade.side
        {
            open.size += size;
            open.notional += notional;
            open.trades = open.trades.saturating_add(1);
            self.open_taken = false;
            return;
        }
        self.interrupt();
        self.open = Some(OpenPrint {
            ts: trade.ts,
            side: trade.side,
            size,
            notional,
            trades: 1,
        });
        self.open_taken = false;
    }

    /// Any other event: the open print, if any, is over.
    #[inline]
    pub fn interrupt(&mut self) {
        if let Some(open) = self.open.take() {
            self.made += 1;
            if self.dropping || (self.open_taken && self.closed.is_empty()) {
                // Taken as it is now: nothing new to show.
                self.taken = self.made;
            } else {
                self.closed.push(open.print());
            }
        }
    }

    /// The prints closed since the last call, and the open one last (it may change yet)
    /// unless it was taken as it is.
    pub fn take(&mut self) -> PrintChanges {
        let open = self.open.as_ref().filter(|_| !self.open_taken);
        let mut prints = self.closed.take(usize::from(open.is_some()));
        prints.extend(open.map(OpenPrint::print));
        self.open_taken = true;
        let first = if prints.is_empty() { 0 } else { self.taken };
        self.taken = self.made;
        PrintChanges {
            first,
            prints: prints.into(),
        }
    }

    /// The prints closed since the last call or [`PrintTape::take`], without the open one,
    /// which is given by a later take as it is then.
    pub fn take_closed(&mut self) -> PrintChanges {
        let prints = self.closed.take(0);
        let first = if prints.is_empty() { 0 } else { self.taken };
        self.taken = self.made;
        PrintChanges {
            first,
            prints: prints.into(),
        }
    }

    /// The number of closed prints not taken yet.
    pub fn waiting(&self) -> usize {
        self.closed.len()
    }

    /// From now on, prints are counted but not kept for [`PrintTape::take`]: for a run that
    /// shows them nowhere, so that a busy stretch between two frames holds no list of them.
    pub fn drop_closed(&mut self) {
        self.dropping = true;
        self.closed = Closed::default();
        self.taken = self.made;
    }

    /// The number of prints closed so far (the open one, if any, is numbered so).
    pub fn closed_count(&self) -> u64 {
        self.made
    }

    /// The open print as it is now, which a later trade may extend.
    pub fn open(&self) -> Option<Print> {
        self.open.as_ref().map(OpenPrint::print)
    }

    /// The number of prints of the run so far, the open one included.
    pub fn len(&self) -> u64 {
        self.made + u64::from(self.open.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Ev {
        T(Millis, Side, f64, f64),
        Book,
    }
    use Ev::{Book, T};
    use Side::{Buy, Sell};

    fn tape_of(events: &[Ev]) -> Vec<Print> {
        tape_taken(events, |tape, _| tape.take())
    }

    /// The prints a reader ends with when it takes `take(tape, i)` after event `i`, and all
    /// at the end.
    fn tape_taken(
        events: &[Ev],
        take: impl Fn(&mut PrintTape, usize) -> PrintChanges,
    ) -> Vec<Print> {
        let mut tape = PrintTape::new();
        let mut all: Vec<Print> = Vec::new();
        for (i, event) in events.iter().enumerate() {
            match *event {
                T(ts, side, price, size) => tape.trade(&Trade {
                    id: i as i64,
                    ts,
                    price,
                    size,
                    side,
                }),
                Book => tape.interrupt(),
            }
            // Taking after every event must not change what the reader ends with.
            let changes = take(&mut tape, i);
            if !changes.prints.is_empty() {
                all.truncate(changes.first as usize);
                all.extend(changes.prints.iter().copied());
            }
        }
        // A frame follows the last event.
        let changes = tape.take();
        if !changes.prints.is_empty() {
            all.truncate(changes.first as usize);
            all.extend(changes.prints.iter().copied());
        }
        all
    }

    fn print(ts: Millis, side: Side, vwap: f64, size: f64, trades: u32) -> Print {
        Print {
            ts,
            side,
            vwap,
            size,
            trades,
        }
    }

    #[test]
    fn prints_are_maximal_runs_of_same_ms_same_side() {
        let cases: &[(&str, &[Ev], &[Print])] = &[
            ("nothing", &[], &[]),
            (
                "one run of three",
                &[
                    T(5, Buy, 10.0, 1.0),
                    T(5, Buy, 11.0, 2.0),
                    T(5, Buy, 12.0, 1.0),
                ],
                &[print(5, Buy, 11.0, 4.0, 3)],
            ),
            (
                "a side change ends a print",
                &[
                    T(5, Buy, 10.0, 1.0),
                    T(5, Sell, 10.0, 1.0),
                    T(5, Buy, 10.0, 1.0),
                ],
                &[
                    print(5, Buy, 10.0, 1.0, 1),
                    print(5, Sell, 10.0, 1.0, 1),
                    print(5, Buy, 10.0, 1.0, 1),
                ],
            ),
            (
                "a new ms ends a print",
                &[T(5, Sell, 10.0, 1.0), T(6, Sell, 10.0, 1.0)],
                &[print(5, Sell, 10.0, 1.0, 1), print(6, Sell, 10.0, 1.0, 1)],
            ),
            (
                "a book row between ends a print",
                &[T(5, Buy, 10.0, 1.0), Book, T(5, Buy, 10.0, 3.0)],
                &[print(5, Buy, 10.0, 1.0, 1), print(5, Buy, 10.0, 3.0, 1)],
            ),
            (
                "book rows around change nothing",
                &[Book, T(5, Buy, 10.0, 1.0), T(5, Buy, 20.0, 1.0), Book, Book],
                &[print(5, Buy, 15.0, 2.0, 2)],
            ),
        ];
        for (name, events, expected) in cases {
            assert_eq!(tape_of(events), *expected, "{name}");
        }
    }

    #[test]
    fn a_tape_that_drops_prints_only_counts_them() {
        let mut tape = PrintTape::new();
        tape.drop_closed();
        for ts in 0..5 {
            tape.trade(&Trade {
                id: 0,
                ts,
                price: 1.0,
                size: 1.0,
                side: Buy,
            });
        }
        assert_eq!(tape.len(), 5);
        let changes = tape.take();
        assert_eq!(
            changes.prints,
            vec![print(4, Buy, 1.0, 1.0, 1)].into(),
            "the open one only"
        );
    }

    #[test]
    fn the_open_print_is_shown_and_then_replaced() {
        let mut tape = PrintTape::new();
        let trade = |ts, size| Trade {
            id: 0,
            ts,
            price: 2.0,
            size,
            side: Buy,
        };
        tape.trade(&trade(1, 1.0));
        assert_eq!(
            tape.take(),
            PrintChanges {
                first: 0,
                prints: std::sync::Arc::new(vec![print(1, Buy, 2.0, 1.0, 1)])
            }
        );
        tape.trade(&trade(1, 2.0));
        tape.trade(&trade(2, 5.0));
        assert_eq!(
            tape.take(),
            PrintChanges {
                first: 0,
                prints: std::sync::Arc::new(vec![
                    print(1, Buy, 2.0, 3.0, 2),
                    print(2, Buy, 2.0, 5.0, 1)
                ])
            }
        );
        assert_eq!(tape.len(), 2);
        assert_eq!(tape.take(), PrintChanges::default(), "nothing new");
        tape.trade(&trade(2, 1.0));
        assert_eq!(
            tape.take(),
            PrintChanges {
                first: 1,
                prints: std::sync::Arc::new(vec![print(2, Buy, 2.0, 6.0, 2)])
            }
        );
    }

    /// A tape nobody takes from for many prints (full chunks, shared by its copies) gives
    /// them all at the next take, as a tape taken from every event does.
    #[test]
    fn prints_kept_over_many_chunks_come_out_whole_and_copies_share_them() {
        let events: Vec<Ev> = (0..3 * CHUNK as i64 + 17)
            .map(|i| {
                let side = if i % 3 == 0 { Sell } else { Buy };
                T(i / 2, side, 100.0 + (i % 7) as f64, 0.5 + (i % 5) as f64)
            })
            .collect();
        let mut tape = PrintTape::new();
        for (i, event) in events.iter().enumerate() {
            if let T(ts, side, price, size) = *event {
                tape.trade(&Trade {
                    id: i as i64,
                    ts,
                    price,
                    size,
                    side,
                });
            }
        }
        let copy = tape.clone();
        assert!(copy.closed.full.len() >= 2, "full chunks");
        assert!(std::sync::Arc::ptr_eq(
            &copy.closed.full[0],
            &tape.closed.full[0]
        ));
        let taken = tape.take();
        assert_eq!(taken.first, 0);
        assert_eq!(*taken.prints, tape_of(&events));
    }

    #[test]
    fn closed_prints_taken_between_takes_leave_the_reader_with_the_same_prints() {
        let mut events = Vec::new();
        for i in 0..200_i64 {
            let side = if i % 7 < 4 { Buy } else { Sell };
            events.push(T(i / 3, side, 100.0 + (i % 5) as f64, 0.5 + (i % 3) as f64));
            if i % 11 == 0 {
                events.push(Book);
            }
        }
        let want = tape_of(&events);
        for every in [1, 2, 3, 5, 17] {
            let got = tape_taken(&events, |tape, i| {
                if i % every == 0 {
                    tape.take()
                } else {
                    let closed = tape.take_closed();
                    assert!(closed.prints.len() <= 1 || tape.waiting() == 0);
                    closed
                }
            });
            assert_eq!(got, want, "closed prints taken except every {every} events");
        }
    }
}
