//! Bars of trades rather than of time: a tick bar holds `N` trades, a volume bar the trades
//! whose sizes reach `V` (the trade that reaches it is the bar's last; none is split). The
//! SPEC has none; they follow its bars (SPEC 2.3) where it speaks: the in-range trades in
//! event order, the open of the first, the close of the last, the extremes, and the volumes
//! summed in event order. Bar `i` is the same in every run over the same trades, so a seek
//! changes only the last, open bar.

use std::sync::Arc;

use super::event::{Millis, Side, Trade};

/// What closes a bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TradeBarSize {
    /// This many trades (at least 1).
    Trades(u64),
    /// Trades whose sizes add up to at least this (> 0).
    Volume(f64),
}

/// One bar of trades.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeBar {
    /// Times of its first and last trade, ms.
    pub first_ts: Millis,
    pub last_ts: Millis,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Sum of the sizes, in event order; and per taker side.
    pub volume: f64,
    pub buy_volume: f64,
    pub sell_volume: f64,
    pub trades: u64,
}

impl TradeBar {
    fn new(trade: &Trade) -> TradeBar {
        let (buy, sell) = match trade.side {
            Side::Buy => (trade.size, 0.0),
            Side::Sell => (0.0, trade.size),
        };
        TradeBar {
            first_ts: trade.ts,
            last_ts: trade.ts,
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: trade.size,
            buy_volume: buy,
            sell_volume: sell,
            trades: 1,
        }
    }

    fn add(&mut self, trade: &Trade) {
        self.last_ts = trade.ts;
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.volume += trade.size;
        match trade.side {
            Side::Buy => self.buy_volume += trade.size,
            Side::Sell => self.sell_volume += trade.size,
        }
        self.trades += 1;
    }
}

/// Closed bars in a chunk shared between the copies of a state (a replay's checkpoints).
const CHUNK: usize = 1024;

/// The bars of trades of a run: closed ones in shared chunks, then the open one.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeBars {
    size: TradeBarSize,
    full: Vec<Arc<[TradeBar]>>,
    filling: Vec<TradeBar>,
    open: Option<TradeBar>,
}

impl TradeBars {
    /// No bar yet. A count below 1 is taken as 1; a volume that is not above 0 closes every
    /// bar at its first trade.
    pub fn new(size: TradeBarSize) -> TradeBars {
        let size = match size {
            TradeBarSize::Trades(n) => TradeBarSize::Trades(n.max(1)),
            volume => volume,
        };
        TradeBars {
            size,
            full: Vec::new(),
            filling: Vec::new(),
            open: None,
        }
    }

    pub fn size(&self) -> TradeBarSize {
        self.size
    }

    /// An in-range trade, the next in event order.
    #[inline]
    pub fn trade(&mut self, trade: &Trade) {
        let bar = match &mut self.open {
            Some(bar) => {
                bar.add(trade);
                bar
            }
            None => self.open.insert(TradeBar::new(trade)),
        };
        let full = match self.size {
            TradeBarSize::Trades(n) => bar.trades >= n,
            TradeBarSize::Volume(v) => bar.volume >= v,
        };
        if full && let Some(bar) = self.open.take() {
            self.filling.push(bar);
            if self.filling.len() == CHUNK {
                self.full.push(std::mem::take(&mut self.filling).into());
            }
        }
    }

    /// The number of bars, the open one included.
    pub fn len(&self) -> usize {
        self.full.len() * CHUNK + self.filling.len() + usize::from(self.open.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bars from number `from` on, in order (the last may be open).
    pub fn from(&self, from: usize) -> Vec<TradeBar> {
        let chunk = (from / CHUNK).min(self.full.len());
        let mut out = Vec::with_capacity(self.len().saturating_sub(from));
        let mut skip = from - chunk * CHUNK;
        for bars in &self.full[chunk..] {
            out.extend_from_slice(&bars[skip.min(bars.len())..]);
            skip = skip.saturating_sub(bars.len());
        }
        out.extend(self.filling.iter().skip(skip).copied());
        skip = skip.saturating_sub(self.filling.len());
        out.extend(self.open.iter().skip(skip).copied());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn trade(i: i64, price: f64, size: f64, side: Side) -> Trade {
        Trade {
            id: i,
            ts: 1_000 + i / 3,
            price,
            size,
            side,
        }
    }

    /// The plain reading: cut the trades into bars, then make each bar from its trades.
    fn model(trades: &[Trade], size: TradeBarSize) -> Vec<TradeBar> {
        let mut bars = Vec::new();
        let mut current: Vec<&Trade> = Vec::new();
        for t in trades {
            current.push(t);
            let volume = current.iter().fold(0.0, |sum, t| sum + t.size);
            let full = match size {
                TradeBarSize::Trades(n) => current.len() as u64 >= n.max(1),
                TradeBarSize::Volume(v) => volume >= v,
            };
            if full {
                bars.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            bars.push(current);
        }
        bars.into_iter()
            .map(|ts| {
                let sum = |side: Option<Side>| {
                    ts.iter()
                        .filter(|t| side.is_none_or(|s| t.side == s))
                        .fold(0.0, |sum, t| sum + t.size)
                };
                TradeBar {
                    first_ts: ts[0].ts,
                    last_ts: ts[ts.len() - 1].ts,
                    open: ts[0].price,
                    high: ts.iter().map(|t| t.price).fold(f64::MIN, f64::max),
                    low: ts.iter().map(|t| t.price).fold(f64::MAX, f64::min),
                    close: ts[ts.len() - 1].price,
                    volume: sum(None),
                    buy_volume: sum(Some(Side::Buy)),
                    sell_volume: sum(Some(Side::Sell)),
                    trades: ts.len() as u64,
                }
            })
            .collect()
    }

    fn bars_of(trades: &[Trade], size: TradeBarSize) -> TradeBars {
        let mut bars = TradeBars::new(size);
        for t in trades {
            bars.trade(t);
        }
        bars
    }

    #[test]
    fn a_tick_bar_closes_at_its_nth_trade_and_a_volume_bar_at_the_trade_that_reaches_v() {
        let trades: Vec<Trade> = [
            (100.0, 1.0),
            (101.0, 2.0),
            (99.0, 0.5),
            (100.5, 3.0),
            (98.0, 1.0),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(p, s))| {
            trade(
                i as i64,
                p,
                s,
                if i % 2 == 0 { Side::Buy } else { Side::Sell },
            )
        })
        .collect();
        let ticks = bars_of(&trades, TradeBarSize::Trades(2)).from(0);
        assert_eq!(ticks.len(), 3);
        assert_eq!(
            (ticks[0].open, ticks[0].close, ticks[0].high, ticks[0].low),
            (100.0, 101.0, 101.0, 100.0)
        );
        assert_eq!(
            (ticks[0].buy_volume, ticks[0].sell_volume, ticks[0].trades),
            (1.0, 2.0, 2)
        );
        assert_eq!(
            ticks[2].trades, 1,
            "the last bar is open, with the one trade left"
        );
        // 1 + 2 reaches 3; 0.5 + 3 reaches 3 (3.5, not split); 1 is open.
        let volume = bars_of(&trades, TradeBarSize::Volume(3.0)).from(0);
        assert_eq!(
            volume.iter().map(|b| b.volume).collect::<Vec<_>>(),
            [3.0, 3.5, 1.0]
        );
        assert_eq!(
            volume.iter().map(|b| b.trades).collect::<Vec<_>>(),
            [2, 2, 1]
        );
    }

    proptest! {
        /// The bars equal the plain reading, and any `from` gives the tail of them: through
        /// chunks, the bars filling, and the open one.
        #[test]
        fn bars_are_the_plain_readings_and_from_gives_any_tail(
            raw in proptest::collection::vec((1u32..2_000, 1u32..500, any::<bool>()), 0..3_000),
            n in 1u64..7,
            v in 1u32..2_000,
            from in 0usize..3_100,
        ) {
            let trades: Vec<Trade> = raw
                .iter()
                .enumerate()
                .map(|(i, &(p, s, buy))| {
                    trade(i as i64, f64::from(p) / 10.0, f64::from(s) / 100.0, if buy { Side::Buy } else { Side::Sell })
                })
                .collect();
            for size in [TradeBarSize::Trades(n), TradeBarSize::Volume(f64::from(v) / 100.0)] {
                let bars = bars_of(&trades, size);
                let want = model(&trades, size);
                prop_assert_eq!(bars.len(), want.len());
                prop_assert_eq!(bars.from(0), want.clone());
                prop_assert_eq!(bars.from(from), want[from.min(want.len())..].to_vec());
            }
        }
    }
}
