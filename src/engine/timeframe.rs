//! Timeframes: the bars of a window `k·W` made from the bars of window `W`, with no
//! reprocessing. A coarse bar is that of a run with the larger window: the open of its first
//! fine bar, the close of its last, the extremes of all, the volumes summed in time order
//! (SPEC 2.3); a coarse metric bar likewise for OBI and CVD (SPEC 2.4), whose values are all
//! samples, so they come out exactly. Volumes are added per fine bar, so a sum may differ from
//! the run's in its last bits (within 1e-9, SPEC 6's tolerance).

use super::bars::{Bar, window_start};
use super::event::Millis;
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
