//! The depth snapshot: the best levels per side (SPEC 2.5).

use super::book::OrderBook;
use super::event::Level;

/// Best levels per side: bids by price descending, asks by price ascending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Depth {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

impl Depth {
    /// The best `levels` levels per side of `book` (fewer when a side has fewer).
    pub fn from_book(book: &OrderBook, levels: usize) -> Depth {
        Depth {
            bids: book.bids().take(levels).collect(),
            asks: book.asks().take(levels).collect(),
        }
    }

    /// Replaces `self` with the depth of `book`, reusing its allocations.
    pub fn fill_from(&mut self, book: &OrderBook, levels: usize) {
        self.bids.clear();
        self.bids.extend(book.bids().take(levels));
        self.asks.clear();
        self.asks.extend(book.asks().take(levels));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(pairs: &[(f64, f64)]) -> Vec<Level> {
        pairs
            .iter()
            .map(|&(price, size)| Level { price, size })
            .collect()
    }

    #[track_caller]
    fn check(name: &str, n: usize, bids: &[(f64, f64)], asks: &[(f64, f64)]) {
        let mut book = OrderBook::new();
        book.apply_snapshot(
            &levels(&[(98.0, 3.0), (100.0, 1.0), (99.0, 2.0)]),
            &levels(&[(103.0, 6.0), (101.0, 4.0), (102.0, 5.0)]),
        );
        let expected = Depth {
            bids: levels(bids),
            asks: levels(asks),
        };
        assert_eq!(Depth::from_book(&book, n), expected, "case {name}");
        let mut reused = Depth {
            bids: levels(&[(1.0, 1.0)]),
            asks: Vec::new(),
        };
        reused.fill_from(&book, n);
        assert_eq!(reused, expected, "case {name}: fill_from");
    }

    #[test]
    fn depth_takes_the_best_levels_in_order() {
        type Case<'a> = (&'a str, usize, &'a [(f64, f64)], &'a [(f64, f64)]);
        let cases: &[Case] = &[
            ("top 1", 1, &[(100.0, 1.0)], &[(101.0, 4.0)]),
            (
                "top 2: bids descending, asks ascending",
                2,
                &[(100.0, 1.0), (99.0, 2.0)],
                &[(101.0, 4.0), (102.0, 5.0)],
            ),
            (
                "more than the book has",
                50,
                &[(100.0, 1.0), (99.0, 2.0), (98.0, 3.0)],
                &[(101.0, 4.0), (102.0, 5.0), (103.0, 6.0)],
            ),
            ("zero levels", 0, &[], &[]),
        ];
        for &(name, n, bids, asks) in cases {
            check(name, n, bids, asks);
        }
    }

    #[test]
    fn depth_of_an_empty_book_is_empty() {
        assert_eq!(Depth::from_book(&OrderBook::new(), 50), Depth::default());
    }
}
