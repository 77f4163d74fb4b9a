//! OBI and CVD (SPEC 2.4): the imbalance of the book and the OHLC of sampled metrics.

use super::book::{ExactSizeSums, OrderBook, SizeSums};
use super::event::Millis;

/// Order book imbalance over the best `levels` levels per side (the whole book when `None`):
///
/// `OBI = (B - A) / (B + A)`, where `B` is the sum of the bid sizes and `A` the sum of the ask
/// sizes of those levels; `OBI = 0` when `B + A = 0` (an empty book, or `levels == Some(0)`).
///
/// Over the whole book, `B - A` and `B + A` are exact (from the book's running sums, O(1)), and
/// each is rounded once (see `exact_imbalance`). Over the best `levels` levels (or a book
/// holding a size the exact sums cannot), `B` and `A` are summed best first in `f64`.
///
/// Sizes are positive, so the result lies in `[-1, 1]`: 1 when only bids are present, -1 when
/// only asks are. It is a function of the book's levels alone, not of the rows that built them.
pub fn obi(book: &OrderBook, levels: Option<usize>) -> f64 {
    match (levels, book.exact_size_sums()) {
        (None, Some(sums)) => exact_imbalance(sums),
        _ => rounded_imbalance(book.top_sizes_sums(levels)),
    }
}

/// `(B - A) / (B + A)` with the difference and the total computed exactly, then each rounded
/// to the nearest `f64` before the division.
///
/// Rounding the difference rather than `B` and `A` keeps the sign of the result exact (0 when
/// `B = A`, positive when `B > A`) and its relative error within about 1.5 ulp even when `B`
/// and `A` nearly cancel, where `round(B) - round(A)` could be off by an ulp of `B`. No clamp
/// is needed: `|B - A| <= B + A` exactly, rounding to nearest is monotonic, so the rounded
/// quotient cannot leave `[-1, 1]`.
fn exact_imbalance(ExactSizeSums { bids, asks }: ExactSizeSums) -> f64 {
    let total = bids + asks;
    if total.is_zero() {
        0.0
    } else {
        (bids - asks).to_f64() / total.to_f64()
    }
}

/// `(B - A) / (B + A)` from sums already rounded to `f64`.
fn rounded_imbalance(SizeSums { bids, asks }: SizeSums) -> f64 {
    let total = bids + asks;
    if total == 0.0 {
        0.0
    } else {
        // Clamped in case rounding puts |B - A| a hair above B + A.
        ((bids - asks) / total).clamp(-1.0, 1.0)
    }
}

/// Open, high, low, close of a sampled series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ohlc {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// One metric bar: the OHLC of the OBI and CVD samples of a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricBar {
    pub ts: Millis,
    pub obi: Ohlc,
    pub cvd: Ohlc,
}

impl Ohlc {
    /// The OHLC of a series after its first sample.
    #[inline]
    pub fn new(first: f64) -> Ohlc {
        Ohlc {
            open: first,
            high: first,
            low: first,
            close: first,
        }
    }

    /// Adds a later sample: the open stays, high/low/close follow it.
    #[inline]
    pub fn sample(&mut self, value: f64) {
        self.high = self.high.max(value);
        self.low = self.low.min(value);
        self.close = value;
    }
}

impl MetricBar {
    /// The metric bar of window `ts` after its first (OBI, CVD) sample.
    #[inline]
    pub fn new(ts: Millis, obi: f64, cvd: f64) -> MetricBar {
        MetricBar {
            ts,
            obi: Ohlc::new(obi),
            cvd: Ohlc::new(cvd),
        }
    }

    /// Adds a later (OBI, CVD) sample of the same window.
    #[inline]
    pub fn sample(&mut self, obi: f64, cvd: f64) {
        self.obi.sample(obi);
        self.cvd.sample(cvd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Level;
    use crate::engine::book::BookSide;
    use proptest::prelude::*;

    fn book(bids: &[(f64, f64)], asks: &[(f64, f64)]) -> OrderBook {
        let levels = |pairs: &[(f64, f64)]| -> Vec<Level> {
            pairs
                .iter()
                .map(|&(price, size)| Level { price, size })
                .collect()
        };
        let mut book = OrderBook::new();
        book.apply_snapshot(&levels(bids), &levels(asks));
        book
    }

    #[track_caller]
    fn check(
        name: &str,
        bids: &[(f64, f64)],
        asks: &[(f64, f64)],
        levels: Option<usize>,
        expected: f64,
    ) {
        assert_eq!(obi(&book(bids, asks), levels), expected, "case {name}");
    }

    #[test]
    fn obi_follows_the_formula() {
        type Case<'a> = (
            &'a str,
            &'a [(f64, f64)],
            &'a [(f64, f64)],
            Option<usize>,
            f64,
        );
        let bids: &[(f64, f64)] = &[(100.0, 3.0), (99.0, 1.0), (98.0, 4.0)];
        let asks: &[(f64, f64)] = &[(101.0, 1.0), (102.0, 1.0), (103.0, 8.0)];
        let cases: &[Case] = &[
            ("empty book: B + A = 0", &[], &[], None, 0.0),
            ("empty book with a level limit", &[], &[], Some(5), 0.0),
            ("only bids", &[(100.0, 2.0)], &[], None, 1.0),
            ("only asks", &[], &[(101.0, 2.0)], None, -1.0),
            ("balanced", &[(100.0, 2.0)], &[(101.0, 2.0)], None, 0.0),
            ("whole book: (8 - 10) / 18", bids, asks, None, -2.0 / 18.0),
            ("best level: (3 - 1) / 4", bids, asks, Some(1), 0.5),
            ("best two: (4 - 2) / 6", bids, asks, Some(2), 2.0 / 6.0),
            (
                "more levels than the book has",
                bids,
                asks,
                Some(50),
                -2.0 / 18.0,
            ),
            ("zero levels: B + A = 0", bids, asks, Some(0), 0.0),
            (
                "nearly balanced: B - A is exact, not round(B) - round(A)",
                &[(100.0, 1e15), (99.0, 0.1)],
                &[(101.0, 1e15)],
                None,
                0.1 / 2e15,
            ),
            (
                "a size the exact sums cannot hold: summed best first",
                &[(100.0, 1e-40)],
                &[(101.0, 3.0)],
                None,
                (1e-40 - 3.0) / (1e-40 + 3.0),
            ),
        ];
        for &(name, bids, asks, levels, expected) in cases {
            check(name, bids, asks, levels, expected);
        }
    }

    #[test]
    fn metric_bar_is_the_ohlc_of_its_samples() {
        let mut bar = MetricBar::new(60_000, 0.5, 0.0);
        for (obi, cvd) in [(-0.25, 3.0), (0.75, -2.0), (0.1, 1.0)] {
            bar.sample(obi, cvd);
        }
        assert_eq!(bar.ts, 60_000);
        assert_eq!(
            bar.obi,
            Ohlc {
                open: 0.5,
                high: 0.75,
                low: -0.25,
                close: 0.1
            }
        );
        assert_eq!(
            bar.cvd,
            Ohlc {
                open: 0.0,
                high: 3.0,
                low: -2.0,
                close: 1.0
            }
        );
    }

    fn levels_of(pairs: &[(u32, f64)]) -> Vec<Level> {
        pairs
            .iter()
            .map(|&(tick, size)| Level {
                price: f64::from(tick),
                size,
            })
            .collect()
    }

    /// The levels of one side of a row, at whole prices from 1 to 39.
    fn arb_side() -> impl Strategy<Value = Vec<Level>> {
        prop::collection::vec(
            (1u32..40, crate::engine::book::tests::arb_wide_size()),
            0..25,
        )
        .prop_map(|pairs| levels_of(&pairs))
    }

    /// A book row.
    #[derive(Debug, Clone)]
    struct Row {
        snapshot: bool,
        bids: Vec<Level>,
        asks: Vec<Level>,
    }

    fn arb_rows() -> impl Strategy<Value = Vec<Row>> {
        let row = (prop::bool::weighted(0.1), arb_side(), arb_side()).prop_map(
            |(snapshot, bids, asks)| Row {
                snapshot,
                bids,
                asks,
            },
        );
        prop::collection::vec(row, 0..30)
    }

    fn apply(book: &mut OrderBook, row: &Row) {
        if row.snapshot {
            book.apply_snapshot(&row.bids, &row.asks);
        } else {
            book.apply_update(&row.bids, &row.asks);
        }
    }

    /// The SPEC's formula with each side summed best first in `f64`.
    fn best_first_obi(book: &OrderBook) -> f64 {
        let b: f64 = book.bids().map(|level| level.size).sum();
        let a: f64 = book.asks().map(|level| level.size).sum();
        if b + a == 0.0 { 0.0 } else { (b - a) / (b + a) }
    }

    /// Updates that turn `book` into `target`: deletions of the levels `target` lacks, then
    /// `target`'s levels worst first.
    fn rows_towards(book: &OrderBook, target: &OrderBook) -> (Vec<Level>, Vec<Level>) {
        let side = |side: BookSide| -> Vec<Level> {
            let keep: Vec<f64> = target.levels(side).map(|level| level.price).collect();
            let gone = book
                .levels(side)
                .filter(|level| !keep.contains(&level.price))
                .map(|level| Level { size: 0.0, ..level });
            let mut wanted: Vec<Level> = target.levels(side).collect();
            wanted.reverse();
            gone.chain(wanted).collect()
        };
        (side(BookSide::Bid), side(BookSide::Ask))
    }

    proptest! {
        /// Whole-book OBI agrees with the best-first formula to 1e-12, after any rows.
        #[test]
        fn whole_book_obi_matches_the_best_first_formula(rows in arb_rows()) {
            let mut book = OrderBook::new();
            for row in &rows {
                apply(&mut book, row);
                let (exact, naive) = (obi(&book, None), best_first_obi(&book));
                prop_assert!((exact - naive).abs() <= 1e-12, "obi {} vs {}", exact, naive);
                prop_assert!((-1.0..=1.0).contains(&exact));
            }
        }

        /// The same levels give bit-identical OBI whatever rows built them: a snapshot of the
        /// final book, or a noisy history (huge levels coming and going) then updates to it.
        #[test]
        fn obi_depends_on_the_levels_alone(
            bids in arb_side(),
            asks in arb_side(),
            noise in arb_rows(),
            levels in prop::option::of(0usize..5),
        ) {
            let mut direct = OrderBook::new();
            direct.apply_snapshot(&bids, &asks);
            let mut noisy = OrderBook::new();
            noise.iter().for_each(|row| apply(&mut noisy, row));
            let (to_bids, to_asks) = rows_towards(&noisy, &direct);
            noisy.apply_update(&to_bids, &to_asks);
            prop_assert_eq!(noisy.bids().collect::<Vec<_>>(), direct.bids().collect::<Vec<_>>());
            prop_assert_eq!(noisy.asks().collect::<Vec<_>>(), direct.asks().collect::<Vec<_>>());
            prop_assert_eq!(obi(&noisy, levels).to_bits(), obi(&direct, levels).to_bits());
        }

        /// OBI lies in [-1, 1] for any book and any level limit.
        #[test]
        fn obi_is_within_bounds(
            bids in prop::collection::vec((1u32..500, 0.0f64..1e15), 0..30),
            asks in prop::collection::vec((1u32..500, 0.0f64..1e15), 0..30),
            levels in prop::option::of(0usize..40),
        ) {
            let to_pairs = |v: &[(u32, f64)]| -> Vec<(f64, f64)> {
                v.iter().map(|&(p, s)| (f64::from(p), s)).collect()
            };
            let value = obi(&book(&to_pairs(&bids), &to_pairs(&asks)), levels);
            prop_assert!((-1.0..=1.0).contains(&value), "obi {}", value);
        }
    }
}
