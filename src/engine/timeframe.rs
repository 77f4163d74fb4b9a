//! Timeframes: the bars of a window `k·W` made from the bars of window `W`, with no
//! reprocessing. A coarse bar is that of a run with the larger window: the open of its first
//! fine bar, the close of its last, the extremes of all, the volumes summed in time order
//! (SPEC 2.3); a coarse metric bar likewise for OBI and CVD (SPEC 2.4), whose values are all
//! samples, so they come out exactly. Volumes are added per fine bar, so a sum may differ from
//! the run's in its last bits (within 1e-9, SPEC 6's tolerance). A coarse footprint
//! (SPEC 6.1, 6.2) likewise: rows merged by exact price, each side summed fine bar after fine
//! bar, the extras summed and the trades counted.

use std::cmp::Ordering;

use super::bars::{Bar, window_start};
use super::event::Millis;
use super::footprint::{FootprintBar, FootprintRow};
use super::metrics::{MetricBar, Ohlc};

/// A bar that can be joined with the bar of the next part of its window.
pub trait Coarsen: Copy {
    fn ts(&self) -> Millis;
    /// The same bar, keyed by the window `ts`.
    fn at(self, ts: Millis) -> Self;
    /// The bar of the events of `self` followed by those of `later`.
    fn then(self, later: Self) -> Self;
}

impl Coarsen for Bar {
    fn ts(&self) -> Millis {
        self.ts
    }
    fn at(self, ts: Millis) -> Bar {
        Bar { ts, ..self }
    }
    fn then(self, later: Bar) -> Bar {
        self.merge(later)
    }
}

impl Coarsen for MetricBar {
    fn ts(&self) -> Millis {
        self.ts
    }
    fn at(self, ts: Millis) -> MetricBar {
        MetricBar { ts, ..self }
    }
    fn then(self, later: MetricBar) -> MetricBar {
        MetricBar {
            ts: self.ts,
            obi: ohlc_then(self.obi, later.obi),
            cvd: ohlc_then(self.cvd, later.cvd),
        }
    }
}

fn ohlc_then(first: Ohlc, later: Ohlc) -> Ohlc {
    Ohlc {
        open: first.open,
        high: first.high.max(later.high),
        low: first.low.min(later.low),
        close: later.close,
    }
}

/// The bars of window `window_ms` (epoch-aligned, a multiple of the bars' own window) made
/// from `bars`, oldest first, as the bars of a run with that window would be.
pub fn coarsen<T: Coarsen>(bars: &[T], window_ms: i64) -> Vec<T> {
    let window_ms = window_ms.max(1);
    let mut out: Vec<T> = Vec::new();
    for bar in bars {
        let ts = window_start(bar.ts(), window_ms);
        match out.last_mut() {
            Some(last) if last.ts() == ts => *last = last.then(*bar),
            _ => out.push(bar.at(ts)),
        }
    }
    out
}

/// The footprints of window `window_ms` (epoch-aligned, a multiple of the footprints' own
/// window) made from `bars`, oldest first, as the footprints of a run with that window would
/// be: a window without a trade has no footprint in either.
pub fn coarsen_footprints(bars: &[FootprintBar], window_ms: i64) -> Vec<FootprintBar> {
    let window_ms = window_ms.max(1);
    let mut out: Vec<FootprintBar> = Vec::new();
    for bar in bars {
        let ts = window_start(bar.ts, window_ms);
        match out.last_mut() {
            Some(last) if last.ts == ts => add_footprint(last, bar),
            _ => out.push(FootprintBar { ts, ..bar.clone() }),
        }
    }
    out
}

/// Adds to `earlier` the trades of `later`, a footprint of a later part of its window.
fn add_footprint(earlier: &mut FootprintBar, later: &FootprintBar) {
    earlier.buy_volume += later.buy_volume;
    earlier.sell_volume += later.sell_volume;
    earlier.trades += later.trades;
    let mut rows = Vec::with_capacity(earlier.rows.len() + later.rows.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (earlier.rows.get(i), later.rows.get(j)) {
        match x.price.total_cmp(&y.price) {
            Ordering::Less => {
                rows.push(*x);
                i += 1;
            }
            Ordering::Greater => {
                rows.push(*y);
                j += 1;
            }
            Ordering::Equal => {
                rows.push(FootprintRow {
                    price: x.price,
                    buy: x.buy + y.buy,
                    sell: x.sell + y.sell,
                });
                i += 1;
                j += 1;
            }
        }
    }
    rows.extend_from_slice(&earlier.rows[i..]);
    rows.extend_from_slice(&later.rows[j..]);
    earlier.rows = rows.into();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BookAction, BookRow, Event, Level, Processor, ProcessorConfig, Side};
    use crate::engine::{Millis, Trade};
    use proptest::prelude::*;

    fn run(events: &[Event], window_ms: i64) -> Processor {
        let mut processor = Processor::new(ProcessorConfig {
            window_ms,
            depth_levels: 5,
            obi_levels: None,
            start: 0,
            end: Millis::MAX,
        });
        for event in events {
            processor.apply(event);
        }
        processor
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    fn event() -> impl Strategy<Value = (u16, bool, u16, u16, bool)> {
        (
            1u16..600,
            any::<bool>(),
            1u16..200,
            1u16..500,
            any::<bool>(),
        )
    }

    proptest! {
        /// Bars and metric bars of window `k·W` made from those of window `W` equal a run with
        /// window `k·W`.
        #[test]
        fn coarse_bars_equal_a_run_with_the_larger_window(
            steps in prop::collection::vec(event(), 1..200),
            window_s in 1i64..30,
            k in 1i64..12,
        ) {
            let mut ts = 0;
            let mut events = vec![Event::Book(BookRow {
                id: 0, ts, action: BookAction::Snapshot,
                bids: vec![Level { price: 99.0, size: 1.0 }],
                asks: vec![Level { price: 101.0, size: 1.0 }],
                seq: None,
            })];
            for (i, &(gap, trade, price, size, buy)) in steps.iter().enumerate() {
                ts += i64::from(gap) * 100;
                let price = f64::from(price) / 4.0;
                let size = f64::from(size) / 7.0;
                events.push(if trade {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    Event::Trade(Trade { id: i as i64, ts, price, size, side })
                } else {
                    let level = Level { price, size: if buy { size } else { 0.0 } };
                    Event::Book(BookRow {
                        id: i as i64, ts, action: BookAction::Update,
                        bids: if price < 100.0 { vec![level] } else { vec![] },
                        asks: if price >= 100.0 { vec![level] } else { vec![] },
                        seq: None,
                    })
                });
            }
            let fine = run(&events, window_s * 1000);
            let coarse = run(&events, window_s * k * 1000);
            let fine_bars: Vec<Bar> = fine.bars().tail(usize::MAX).copied().collect();
            let made = coarsen(&fine_bars, window_s * k * 1000);
            let want: Vec<Bar> = coarse.bars().tail(usize::MAX).copied().collect();
            prop_assert_eq!(made.len(), want.len());
            for (m, w) in made.iter().zip(&want) {
                prop_assert_eq!((m.ts, m.open, m.high, m.low, m.close), (w.ts, w.open, w.high, w.low, w.close));
                prop_assert!(close(m.volume, w.volume), "{} vs {}", m.volume, w.volume);
            }
            let fine_metrics: Vec<MetricBar> = fine.metric_bars().tail(usize::MAX).copied().collect();
            let made = coarsen(&fine_metrics, window_s * k * 1000);
            let want: Vec<MetricBar> = coarse.metric_bars().tail(usize::MAX).copied().collect();
            prop_assert_eq!(made, want);
        }
    }

    fn footprints_close(made: &[FootprintBar], want: &[FootprintBar]) -> Result<(), String> {
        if made.len() != want.len() {
            return Err(format!("{} footprints, want {}", made.len(), want.len()));
        }
        for (m, w) in made.iter().zip(want) {
            let prices = |bar: &FootprintBar| bar.rows.iter().map(|r| r.price).collect::<Vec<_>>();
            if (m.ts, m.trades, prices(m)) != (w.ts, w.trades, prices(w)) {
                return Err(format!("{m:?}\nwant {w:?}"));
            }
            let sums = |bar: &FootprintBar| {
                let rows = bar.rows.iter().flat_map(|r| [r.buy, r.sell]);
                [bar.buy_volume, bar.sell_volume]
                    .into_iter()
                    .chain(rows)
                    .collect::<Vec<_>>()
            };
            if !sums(m).iter().zip(&sums(w)).all(|(a, b)| close(*a, *b)) {
                return Err(format!("{m:?}\nwant {w:?}"));
            }
        }
        Ok(())
    }

    proptest! {
        /// Footprints of window `k·W` made from those of window `W` equal a run with window
        /// `k·W`: the same rows at the same exact prices, the same counts, sums within 1e-9.
        #[test]
        fn coarse_footprints_equal_a_run_with_the_larger_window(
            trades in prop::collection::vec((0u16..400, 1u8..12, 1u16..500, any::<bool>()), 1..300),
            window_s in 1i64..20,
            k in 1i64..12,
        ) {
            let mut ts = 0;
            let events: Vec<Event> = trades
                .iter()
                .enumerate()
                .map(|(i, &(gap, price, size, buy))| {
                    ts += i64::from(gap) * 50;
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let (price, size) = (f64::from(price) * 0.1, f64::from(size) / 7.0);
                    Event::Trade(Trade { id: i as i64, ts, price, size, side })
                })
                .collect();
            let fine = run(&events, window_s * 1000);
            let coarse = run(&events, window_s * k * 1000);
            let fine: Vec<FootprintBar> = fine.footprints().tail(usize::MAX).cloned().collect();
            let made = coarsen_footprints(&fine, window_s * k * 1000);
            let want: Vec<FootprintBar> = coarse.footprints().tail(usize::MAX).cloned().collect();
            if let Err(message) = footprints_close(&made, &want) {
                prop_assert!(false, "{}", message);
            }
        }
    }

    #[test]
    fn coarse_footprint_rows_merge_by_exact_price() {
        let row = |price, buy, sell| FootprintRow { price, buy, sell };
        let bar = |ts, rows: Vec<FootprintRow>, trades| FootprintBar {
            ts,
            buy_volume: rows.iter().map(|r: &FootprintRow| r.buy).sum(),
            sell_volume: rows.iter().map(|r| r.sell).sum(),
            trades,
            rows: rows.into(),
        };
        let fine = [
            bar(
                60_000,
                vec![row(0.1 + 0.2, 1.0, 0.0), row(2.0, 0.0, 2.0)],
                2,
            ),
            bar(
                120_000,
                vec![row(0.3, 0.5, 0.0), row(2.0, 1.0, 0.5), row(3.0, 4.0, 0.0)],
                4,
            ),
            bar(300_000, vec![row(2.0, 0.0, 1.0)], 1),
        ];
        assert_eq!(
            coarsen_footprints(&fine, 300_000),
            vec![
                FootprintBar {
                    ts: 0,
                    buy_volume: 6.5,
                    sell_volume: 2.5,
                    trades: 6,
                    rows: vec![
                        row(0.3, 0.5, 0.0),
                        row(0.1 + 0.2, 1.0, 0.0),
                        row(2.0, 1.0, 2.5),
                        row(3.0, 4.0, 0.0),
                    ]
                    .into(),
                },
                fine[2].clone(),
            ]
        );
    }

    #[test]
    fn a_coarse_bar_opens_with_the_first_and_closes_with_the_last() {
        let bars = [
            Bar::from_ohlcv(60_000, [10.0, 12.0, 9.0, 11.0, 1.0]),
            Bar::from_ohlcv(120_000, [11.0, 15.0, 10.0, 14.0, 2.0]),
            Bar::from_ohlcv(360_000, [14.0, 14.0, 13.0, 13.5, 0.5]),
        ];
        assert_eq!(
            coarsen(&bars, 300_000),
            vec![
                Bar::from_ohlcv(0, [10.0, 15.0, 9.0, 14.0, 3.0]),
                Bar::from_ohlcv(300_000, [14.0, 14.0, 13.0, 13.5, 0.5]),
            ]
        );
    }
}
