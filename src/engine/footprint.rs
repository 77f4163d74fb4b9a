//! Trades at price (SPEC 6.1, 6.2): per bar window the buy and sell volume, the trade count,
//! and the footprint, the buy and sell volume at each exact trade price.

use std::cmp::Ordering;
use triomphe::Arc;

use super::event::{Millis, Side};

/// The volume traded at one exact price inside one bar window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FootprintRow {
    /// The trade price as read (SPEC 6.2 compares prices exactly, never grouped).
    pub price: f64,
    /// Sum, in event order, of the sizes of the buy (taker) trades at `price`.
    pub buy: f64,
    /// Sum, in event order, of the sizes of the sell (taker) trades at `price`.
    pub sell: f64,
}

impl FootprintRow {
    /// `buy + sell`: what the point of control compares.
    pub fn volume(&self) -> f64 {
        self.buy + self.sell
    }
}

/// The trades of one bar window by side and by price: the bar extras (SPEC 6.1) and the
/// footprint (SPEC 6.2).
///
/// Rows are a vector sorted by price rather than a map: a 1-minute bar holds tens to a few
/// hundred distinct prices, a sorted vector of them is three `f64`s per row with no node
/// overhead, and the trade that finds its row by binary search is nearly always at a price
/// already seen.
#[derive(Debug, Clone, PartialEq)]
pub struct FootprintBar {
    /// Window start, ms, aligned to the epoch (as the bar's, SPEC 2.3).
    pub ts: Millis,
    /// Sum, in event order, of the sizes of the buy trades of the window.
    pub buy_volume: f64,
    /// Sum, in event order, of the sizes of the sell trades of the window.
    pub sell_volume: f64,
    /// Number of trades in the window.
    pub trades: u64,
    /// One row per distinct price, by price ascending. Shared by the copies of the bar (the
    /// live feed's, a replay's checkpoints): a copy costs a pointer until the bar changes.
    pub rows: Arc<Vec<FootprintRow>>,
}

impl FootprintBar {
    /// The window `ts` with no trade yet.
    pub fn new(ts: Millis) -> FootprintBar {
        FootprintBar {
            ts,
            buy_volume: 0.0,
            sell_volume: 0.0,
            trades: 0,
            rows: Arc::default(),
        }
    }

    /// Adds a trade of the window: to its side's volume, the count, and the row of its price.
    #[inline]
    pub fn add(&mut self, price: f64, size: f64, side: Side) {
        self.add_near(&mut 0, price, size, side);
    }

    /// [`FootprintBar::add`], looking first at the row `hint` (which it leaves at the row of
    /// this trade): consecutive trades are mostly at the same price, and a wrong or stale hint
    /// only costs the search it would have saved.
    #[inline]
    pub fn add_near(&mut self, hint: &mut usize, price: f64, size: f64, side: Side) {
        self.trades += 1;
        let same = |row: &FootprintRow| compare_prices(row.price, price).is_eq();
        let rows = Arc::make_mut(&mut self.rows);
        let index = match rows.get(*hint) {
            Some(row) if same(row) => *hint,
            _ => match rows.binary_search_by(|row| compare_prices(row.price, price)) {
                Ok(index) => index,
                Err(index) => {
                    let empty = FootprintRow {
                        price,
                        buy: 0.0,
                        sell: 0.0,
                    };
                    rows.insert(index, empty);
                    index
                }
            },
        };
        *hint = index;
        let row = &mut rows[index];
        match side {
            Side::Buy => {
                self.buy_volume += size;
                row.buy += size;
            }
            Side::Sell => {
                self.sell_volume += size;
                row.sell += size;
            }
        }
    }

    /// The bar's delta: `buy_volume - sell_volume`.
    pub fn delta(&self) -> f64 {
        self.buy_volume - self.sell_volume
    }

    /// The point of control: the row with the largest `buy + sell`, the lowest price on a tie;
    /// `None` for a window without trades.
    pub fn poc(&self) -> Option<&FootprintRow> {
        // Rows are by price ascending, so the first row of the largest volume is the lowest.
        self.rows.iter().fold(None, |best, row| match best {
            Some(best) if best.volume() >= row.volume() => Some(best),
            _ => Some(row),
        })
    }
}

/// Trade prices are finite and > 0 (checked by the source), where `total_cmp` is `<` and `==`.
#[inline]
fn compare_prices(a: f64, b: f64) -> Ordering {
    a.total_cmp(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bar_of(trades: &[(f64, f64, Side)]) -> FootprintBar {
        let mut bar = FootprintBar::new(0);
        for &(price, size, side) in trades {
            bar.add(price, size, side);
        }
        bar
    }

    fn row(price: f64, buy: f64, sell: f64) -> FootprintRow {
        FootprintRow { price, buy, sell }
    }

    #[test]
    fn rows_are_by_price_ascending_with_sides_apart() {
        use Side::{Buy, Sell};
        let bar = bar_of(&[
            (101.0, 1.0, Buy),
            (100.5, 2.0, Sell),
            (101.0, 0.5, Sell),
            (100.0, 3.0, Buy),
            (101.0, 0.25, Buy),
        ]);
        assert_eq!(
            *bar.rows,
            vec![
                row(100.0, 3.0, 0.0),
                row(100.5, 0.0, 2.0),
                row(101.0, 1.25, 0.5)
            ]
        );
        assert_eq!(
            (bar.buy_volume, bar.sell_volume, bar.trades),
            (4.25, 2.5, 5)
        );
        assert_eq!(bar.delta(), 1.75);
    }

    #[test]
    fn prices_are_compared_exactly() {
        // 0.1 + 0.2 is not 0.3 in binary: they are two rows.
        let bar = bar_of(&[(0.1 + 0.2, 1.0, Side::Buy), (0.3, 1.0, Side::Buy)]);
        assert_eq!(bar.rows.len(), 2);
    }

    #[test]
    fn poc_is_the_largest_row_and_the_lowest_price_on_a_tie() {
        use Side::{Buy, Sell};
        type Trades = &'static [(f64, f64, Side)];
        let cases: &[(&str, Trades, Option<f64>)] = &[
            ("no trade", &[], None),
            ("one row", &[(5.0, 1.0, Buy)], Some(5.0)),
            (
                "largest sum of both sides",
                &[(5.0, 2.0, Buy), (6.0, 1.5, Buy), (6.0, 1.0, Sell)],
                Some(6.0),
            ),
            (
                "tie: lowest price",
                &[
                    (7.0, 2.0, Sell),
                    (5.0, 1.0, Buy),
                    (5.0, 1.0, Sell),
                    (6.0, 2.0, Buy),
                ],
                Some(5.0),
            ),
        ];
        for (name, trades, expected) in cases {
            assert_eq!(bar_of(trades).poc().map(|r| r.price), *expected, "{name}");
        }
    }

    proptest! {
        /// The footprint is the plain group-by of the trades: per price, per side, the sizes
        /// summed in the order they came.
        #[test]
        fn rows_are_the_group_by_of_the_trades(
            trades in prop::collection::vec((1u8..20, 1u32..1000, any::<bool>()), 0..200)
        ) {
            let trades: Vec<(f64, f64, Side)> = trades
                .iter()
                .map(|&(p, s, buy)| {
                    (f64::from(p) * 0.5, f64::from(s) / 7.0, if buy { Side::Buy } else { Side::Sell })
                })
                .collect();
            let bar = bar_of(&trades);
            let mut prices: Vec<f64> = trades.iter().map(|t| t.0).collect();
            prices.sort_by(f64::total_cmp);
            prices.dedup();
            let expected: Vec<FootprintRow> = prices
                .iter()
                .map(|&p| {
                    let sum = |side| {
                        trades
                            .iter()
                            .filter(|t| t.0 == p && t.2 == side)
                            .fold(0.0, |sum, t| sum + t.1)
                    };
                    row(p, sum(Side::Buy), sum(Side::Sell))
                })
                .collect();
            prop_assert_eq!(&*bar.rows, &expected);
            prop_assert_eq!(bar.trades, trades.len() as u64);
        }
    }
}
