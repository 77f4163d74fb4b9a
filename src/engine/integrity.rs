//! Integrity of the book (SPEC 10.2): OKX numbers each book message (`seqId`, `prevSeqId`);
//! a break in that chain means the rebuilt book is wrong until the next snapshot, and a
//! crossed book (best bid >= best ask) is the visible symptom.
//!
//! Two halves, as the processor has them: [`Chain`] links each valid book row of a file to
//! the one before it (in the book stage, beside the book), and [`Integrity`] counts what the
//! links and the crossed books say over the rows applied in range, keeps the first examples,
//! and the spans of time when the book was uncertain (in the accounting stage, so a `--jobs`
//! run counts in the same order as a one-thread run).

use bitcode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::book::OrderBook;
use super::event::{BookAction, BookRow, Millis, SeqIds};

/// How a valid book row links to the row before it in its file (SPEC 10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub enum Link {
    /// The row has no message numbers (the columns are absent, or its values are NULL or not
    /// integers): nothing is said about it.
    Unchecked,
    /// The first valid row of a file, a snapshot, or `prevSeqId == -1`.
    Start,
    /// `prevSeqId` is the previous row's `seqId`.
    Continue,
    /// A continuation that changed nothing: `prevSeqId == seqId`.
    Heartbeat,
    /// `seqId < prevSeqId`: the exchange renumbered; the chain goes on.
    Reset,
    /// Anything else: messages were lost, the book is uncertain until the next snapshot.
    Gap,
}

/// Where the chain of a file stands: the `seqId` of the previous valid row, or nothing when
/// the next row with message numbers starts a chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chain {
    previous: Option<i64>,
}

impl Chain {
    /// A new file: its first valid row starts a chain.
    pub fn start_file(&mut self) {
        self.previous = None;
    }

    /// Links `row`, a valid book row of the file, to the rows before it, in this order of
    /// tests (SPEC 10.2): a chain start (the first row, a snapshot, `prevSeqId == -1`); a
    /// reset (`seqId < prevSeqId`); a continuation (`prevSeqId` is the previous `seqId`),
    /// a heartbeat when also `prevSeqId == seqId`; else a gap.
    ///
    /// A row without numbers is not linked; a snapshot among them still ends the chain, so
    /// that the next numbered row starts one.
    pub fn link(&mut self, row: &BookRow) -> Link {
        let Some(SeqIds {
            seq_id,
            prev_seq_id,
        }) = row.seq
        else {
            if row.action == BookAction::Snapshot {
                self.previous = None;
            }
            return Link::Unchecked;
        };
        let link = match self.previous {
            None => Link::Start,
            Some(_) if row.action == BookAction::Snapshot || prev_seq_id == -1 => Link::Start,
            Some(_) if seq_id < prev_seq_id => Link::Reset,
            Some(previous) if prev_seq_id == previous && prev_seq_id == seq_id => Link::Heartbeat,
            Some(previous) if prev_seq_id == previous => Link::Continue,
            Some(_) => Link::Gap,
        };
        self.previous = Some(seq_id);
        link
    }
}

/// Whether the best bid is at or above the best ask (both sides present).
pub fn is_crossed(book: &OrderBook) -> bool {
    match (book.best_bid(), book.best_ask()) {
        (Some(bid), Some(ask)) => bid.price >= ask.price,
        _ => false,
    }
}

/// The kinds of findings an example can be of, by their names in the summary and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    Gap,
    Reset,
    Heartbeat,
    Crossed,
}

impl Finding {
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Gap => "gap",
            Finding::Reset => "reset",
            Finding::Heartbeat => "heartbeat",
            Finding::Crossed => "crossed",
        }
    }
}

/// Examples kept per kind of finding (as many as the summary keeps per skip reason).
pub const EXAMPLES_PER_KIND: usize = 5;

/// One finding, as an example: the file (its number in the run, given by
/// [`Integrity::start_file`]), the row and the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    pub file: usize,
    pub row_id: i64,
    pub kind: Finding,
}

/// A span of time when the book was uncertain: from the row of a gap to the next snapshot
/// (`to`, exclusive), or still uncertain (`to` is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uncertain {
    pub from: Millis,
    pub to: Option<Millis>,
}

/// The integrity findings of a run (SPEC 10.2): counts over the book rows applied in range,
/// the first examples of each kind, and when the book was uncertain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Integrity {
    pub gaps: u64,
    pub resets: u64,
    pub heartbeats: u64,
    /// Book rows after which the book was crossed.
    pub crossed: u64,
    /// The first [`EXAMPLES_PER_KIND`] of each kind, in the order they were found.
    pub examples: Vec<Example>,
    /// Spans of uncertainty in time order of their gaps; the last may be open.
    pub uncertain: Vec<Uncertain>,
    file: usize,
}

impl Integrity {
    /// The rows that follow are of file number `file`.
    pub fn start_file(&mut self, file: usize) {
        self.file = file;
    }

    /// Takes one valid book row applied (`in_range`, or as warm-up): a gap makes the book
    /// uncertain and a snapshot certain again whenever they come; the counts and examples
    /// cover the rows in range.
    pub fn take(
        &mut self,
        row_id: i64,
        ts: Millis,
        snapshot: bool,
        link: Link,
        crossed: bool,
        in_range: bool,
    ) {
        if snapshot {
            if let Some(open) = self.uncertain.last_mut().filter(|span| span.to.is_none()) {
                open.to = Some(ts.max(open.from));
            }
        } else if link == Link::Gap && self.uncertain.last().is_none_or(|span| span.to.is_some()) {
            self.uncertain.push(Uncertain { from: ts, to: None });
        }
        if !in_range {
            return;
        }
        let kind = match link {
            Link::Gap => Some((&mut self.gaps, Finding::Gap)),
            Link::Reset => Some((&mut self.resets, Finding::Reset)),
            Link::Heartbeat => Some((&mut self.heartbeats, Finding::Heartbeat)),
            Link::Unchecked | Link::Start | Link::Continue => None,
        };
        // What the row shows, in this order (no list allocated: this runs for every row).
        let linked = kind.map(|(count, kind)| {
            *count += 1;
            (*count, kind)
        });
        let crossed = crossed.then(|| {
            self.crossed += 1;
            (self.crossed, Finding::Crossed)
        });
        for (count, kind) in linked.into_iter().chain(crossed) {
            if count as usize <= EXAMPLES_PER_KIND {
                self.examples.push(Example {
                    file: self.file,
                    row_id,
                    kind,
                });
            }
        }
    }

    /// Whether the book is uncertain now (a gap not yet followed by a snapshot).
    pub fn is_uncertain(&self) -> bool {
        self.uncertain.last().is_some_and(|span| span.to.is_none())
    }

    /// The spans of uncertainty that overlap `[start, end)`, cut to it.
    pub fn uncertain_within(&self, start: Millis, end: Millis) -> Vec<Uncertain> {
        self.uncertain
            .iter()
            .filter(|span| span.from < end && span.to.is_none_or(|to| to > start))
            .map(|span| Uncertain {
                from: span.from.max(start),
                to: span.to.map(|to| to.min(end)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Level;

    fn row(action: BookAction, seq: Option<(i64, i64)>) -> BookRow {
        BookRow {
            id: 0,
            ts: 0,
            action,
            bids: Vec::new(),
            asks: Vec::new(),
            seq: seq.map(|(seq_id, prev_seq_id)| SeqIds {
                seq_id,
                prev_seq_id,
            }),
        }
    }

    /// Links rows `(action, seqId, prevSeqId)` of one file in order.
    fn check(rows: &[(BookAction, Option<(i64, i64)>)], expected: &[Link]) {
        let mut chain = Chain::default();
        let links: Vec<Link> = rows
            .iter()
            .map(|(action, seq)| chain.link(&row(*action, *seq)))
            .collect();
        assert_eq!(links, expected);
    }

    use BookAction::{Snapshot as S, Update as U};

    #[test]
    fn chain_start_continue_heartbeat() {
        check(
            &[(U, Some((10, 5))), (U, Some((11, 10))), (U, Some((11, 11)))],
            &[Link::Start, Link::Continue, Link::Heartbeat],
        );
    }

    #[test]
    fn snapshot_and_minus_one_start_a_chain() {
        check(
            &[
                (S, Some((10, -1))),
                (S, Some((50, 40))),
                (U, Some((70, -1))),
            ],
            &[Link::Start, Link::Start, Link::Start],
        );
    }

    #[test]
    fn reset_is_tested_before_continuation_and_the_chain_goes_on() {
        check(
            &[(S, Some((10, -1))), (U, Some((3, 10))), (U, Some((4, 3)))],
            &[Link::Start, Link::Reset, Link::Continue],
        );
    }

    #[test]
    fn gap_then_the_chain_goes_on_from_the_gap_row() {
        check(
            &[
                (S, Some((10, -1))),
                (U, Some((13, 12))),
                (U, Some((14, 13))),
            ],
            &[Link::Start, Link::Gap, Link::Continue],
        );
    }

    #[test]
    fn rows_without_numbers_are_not_linked() {
        check(
            &[
                (U, Some((10, 9))),
                (U, None),
                (U, Some((11, 10))),
                (S, None),
                (U, Some((30, 20))),
            ],
            &[
                Link::Start,
                Link::Unchecked,
                Link::Continue,
                Link::Unchecked,
                Link::Start,
            ],
        );
    }

    #[test]
    fn a_new_file_starts_a_chain() {
        let mut chain = Chain::default();
        assert_eq!(chain.link(&row(U, Some((10, 9)))), Link::Start);
        chain.start_file();
        assert_eq!(chain.link(&row(U, Some((20, 19)))), Link::Start);
    }

    #[test]
    fn crossed_needs_both_sides() {
        let mut book = OrderBook::new();
        let level = |price| Level { price, size: 1.0 };
        book.apply_snapshot(&[level(100.0)], &[]);
        assert!(!is_crossed(&book));
        book.apply_snapshot(&[level(100.0)], &[level(101.0)]);
        assert!(!is_crossed(&book));
        book.apply_snapshot(&[level(100.0)], &[level(100.0)]);
        assert!(is_crossed(&book));
    }

    #[test]
    fn uncertain_from_a_gap_to_the_next_snapshot_counts_in_range_only() {
        let mut integrity = Integrity::default();
        integrity.take(1, 5, false, Link::Gap, false, false);
        integrity.take(2, 10, true, Link::Start, false, true);
        integrity.take(3, 20, false, Link::Gap, true, true);
        integrity.take(4, 25, false, Link::Gap, false, true);
        assert!(integrity.is_uncertain());
        assert_eq!((integrity.gaps, integrity.crossed), (2, 1));
        assert_eq!(
            integrity.uncertain,
            vec![
                Uncertain {
                    from: 5,
                    to: Some(10)
                },
                Uncertain { from: 20, to: None }
            ]
        );
        assert_eq!(
            integrity.uncertain_within(8, 100),
            vec![
                Uncertain {
                    from: 8,
                    to: Some(10)
                },
                Uncertain { from: 20, to: None }
            ]
        );
        let kinds: Vec<(i64, Finding)> = integrity
            .examples
            .iter()
            .map(|e| (e.row_id, e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![(3, Finding::Gap), (3, Finding::Crossed), (4, Finding::Gap)]
        );
    }
}
