//! OBI and CVD (SPEC 2.4): the imbalance of the book and the OHLC of sampled metrics.

use super::Millis;
use super::book::OrderBook;

/// Order book imbalance over the best `levels` levels per side (the whole book when `None`):
///
/// `OBI = (B - A) / (B + A)`, where `B` is the sum of the bid sizes and `A` the sum of the ask
/// sizes of those levels, each summed best first; `OBI = 0` when `B + A = 0` (an empty book, or
/// `levels == Some(0)`).
///
/// Sizes are positive, so the result lies in `[-1, 1]`: 1 when only bids are present, -1 when
/// only asks are.
pub fn obi(book: &OrderBook, levels: Option<usize>) -> f64 {
    let sums = book.top_sizes_sums(levels);
    let total = sums.bids + sums.asks;
    if total == 0.0 {
        0.0
    } else {
        // Clamped in case rounding puts |B - A| a hair above B + A.
        ((sums.bids - sums.asks) / total).clamp(-1.0, 1.0)
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

    proptest! {
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
