//! OHLC bars of trades (SPEC 2.3) and the keyed series that holds them.

use std::collections::VecDeque;

use super::event::Millis;

/// One OHLC bar of trade prices, with the summed size as volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Window start, ms, aligned to the epoch.
    pub ts: Millis,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl Bar {
    /// The bar of window `ts` with its values in the seed's order: open, high, low, close,
    /// volume.
    pub const fn from_ohlcv(ts: Millis, [open, high, low, close, volume]: [f64; 5]) -> Bar {
        Bar {
            ts,
            open,
            high,
            low,
            close,
            volume,
        }
    }
}

/// The start of the window of length `window_ms` that holds `ts`:
/// `window_start(ts, W) = floor(ts / W) * W`.
///
/// Windows are aligned to the Unix epoch (a window starts at 0 and at every multiple of `W`),
/// also before it: `floor` (Euclidean division) puts `-1` in the window `[-W, 0)`, not `[0, W)`.
/// `window_ms` must be >= 1 (the processor guarantees it).
///
/// Written as `ts - ts.rem_euclid(W)`, which equals the formula and, saturating, cannot
/// overflow even for timestamps near `i64::MIN` (that the source never sends).
#[inline]
pub fn window_start(ts: Millis, window_ms: i64) -> Millis {
    ts.saturating_sub(ts.rem_euclid(window_ms))
}

impl Bar {
    /// The bar of window `ts` after its first trade.
    #[inline]
    pub fn new(ts: Millis, price: f64, size: f64) -> Bar {
        Bar {
            ts,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: size,
        }
    }

    /// Adds a later trade: the open stays, high/low/close follow the price, the volume adds
    /// the size.
    #[inline]
    pub fn update(&mut self, price: f64, size: f64) {
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
        self.volume += size;
    }

    /// The bar of the trades of `self` followed by those of `later` (same window): open of
    /// `self`, close of `later`, the extremes of both, volumes added. Used to stitch bars built
    /// from consecutive parts of a trade sequence.
    pub fn merge(self, later: Bar) -> Bar {
        Bar {
            ts: self.ts,
            open: self.open,
            high: self.high.max(later.high),
            low: self.low.min(later.low),
            close: later.close,
            volume: self.volume + later.volume,
        }
    }
}

/// Bars keyed by window start, oldest first. A window is updated in place even when it is
/// not the newest.
///
/// Bars come nearly always in window order, so they are kept in a deque sorted by window:
/// the newest is at hand without a search (a `BTreeMap` walked down its right edge for every
/// trade, three series a trade: BENCHMARKS.md, ninth round), the oldest go from the front,
/// and a window out of order is found by bisection.
#[derive(Debug, Clone, Default)]
pub struct BarSeries<T> {
    by_window: VecDeque<(Millis, T)>,
    /// Lowest window touched since the last `take_changed`.
    changed_from: Option<Millis>,
}

impl<T: Clone> BarSeries<T> {
    pub fn new() -> Self {
        BarSeries {
            by_window: VecDeque::new(),
            changed_from: None,
        }
    }
    pub fn len(&self) -> usize {
        self.by_window.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_window.is_empty()
    }
    /// Where `window` is, or would be inserted.
    fn find(&self, window: Millis) -> Result<usize, usize> {
        self.by_window.binary_search_by_key(&window, |(w, _)| *w)
    }
    pub fn get(&self, window: Millis) -> Option<&T> {
        let i = self.find(window).ok()?;
        Some(&self.by_window[i].1)
    }
    pub fn get_mut(&mut self, window: Millis) -> Option<&mut T> {
        let i = self.find(window).ok()?;
        Some(&mut self.by_window[i].1)
    }
    /// Drops the oldest bars until at most `n` are left.
    pub fn keep_newest(&mut self, n: usize) {
        while self.by_window.len() > n {
            self.by_window.pop_front();
        }
    }
    /// All bars, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.by_window.iter().map(|(_, bar)| bar)
    }
    /// The newest `n` bars, oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = &T> {
        let first = self.by_window.len().saturating_sub(n);
        self.by_window.range(first..).map(|(_, bar)| bar)
    }
    /// Updates the bar of `window` with `update`, or creates it with `create`.
    #[inline]
    pub fn upsert(
        &mut self,
        window: Millis,
        create: impl FnOnce() -> T,
        update: impl FnOnce(&mut T),
    ) {
        match self.by_window.back_mut() {
            Some((newest, bar)) if *newest == window => update(bar),
            Some((newest, _)) if *newest > window => match self.find(window) {
                Ok(i) => update(&mut self.by_window[i].1),
                Err(i) => self.by_window.insert(i, (window, create())),
            },
            _ => self.by_window.push_back((window, create())),
        }
        self.changed_from = Some(self.changed_from.map_or(window, |from| from.min(window)));
    }
    /// The bars touched since the last call, oldest first (a bar newer than a touched one is
    /// included too: it is cheap and keeps the reader's copy contiguous).
    pub fn take_changed(&mut self) -> Vec<T> {
        match self.changed_from.take() {
            Some(from) => {
                let first = self.by_window.partition_point(|(w, _)| *w < from);
                self.by_window
                    .range(first..)
                    .map(|(_, bar)| bar.clone())
                    .collect()
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn tail_is_the_newest_n_oldest_first() {
        let mut series = BarSeries::new();
        for window in [300, 0, 100, 200] {
            series.upsert(window, || window, |_| {});
        }
        let tail = |n| series.tail(n).copied().collect::<Vec<_>>();
        assert_eq!(tail(0), Vec::<i64>::new());
        assert_eq!(tail(2), vec![200, 300]);
        assert_eq!(tail(4), vec![0, 100, 200, 300]);
        assert_eq!(tail(9), vec![0, 100, 200, 300]);
    }

    /// Builds the bars of `trades` (ts, price, size) as the processor does.
    fn bars_of(trades: &[(Millis, f64, f64)], window_ms: i64) -> Vec<Bar> {
        let mut series = BarSeries::new();
        for &(ts, price, size) in trades {
            let window = window_start(ts, window_ms);
            series.upsert(
                window,
                || Bar::new(window, price, size),
                |bar| bar.update(price, size),
            );
        }
        series.iter().copied().collect()
    }

    #[track_caller]
    fn check(name: &str, trades: &[(Millis, f64, f64)], expected: &[Bar]) {
        assert_eq!(bars_of(trades, 60_000), expected, "case {name}");
    }

    fn bar(ts: Millis, open: f64, high: f64, low: f64, close: f64, volume: f64) -> Bar {
        Bar::from_ohlcv(ts, [open, high, low, close, volume])
    }

    #[test]
    fn window_start_aligns_to_the_epoch() {
        let cases: &[(&str, Millis, i64, Millis)] = &[
            ("exactly a window start", 120_000, 60_000, 120_000),
            ("the ms before it", 119_999, 60_000, 60_000),
            ("the ms after it", 120_001, 60_000, 120_000),
            ("the epoch", 0, 60_000, 0),
            ("the ms before the epoch", -1, 60_000, -60_000),
            ("a negative window start", -60_000, 60_000, -60_000),
            (
                "a real timestamp",
                1_736_899_234_567,
                60_000,
                1_736_899_200_000,
            ),
            (
                "one-second windows",
                1_736_899_234_567,
                1_000,
                1_736_899_234_000,
            ),
            ("a window of one ms", -7, 1, -7),
            (
                "the earliest timestamp does not overflow",
                i64::MIN + 1,
                60_000,
                i64::MIN,
            ),
        ];
        for &(name, ts, window_ms, expected) in cases {
            assert_eq!(window_start(ts, window_ms), expected, "case {name}");
        }
    }

    #[test]
    fn trades_make_bars() {
        type Case<'a> = (&'a str, &'a [(Millis, f64, f64)], &'a [Bar]);
        let cases: &[Case] = &[
            ("no trade, no bar", &[], &[]),
            (
                "one trade",
                &[(60_500, 10.0, 2.0)],
                &[bar(60_000, 10.0, 10.0, 10.0, 10.0, 2.0)],
            ),
            (
                "high and low tracked, close is the last",
                &[
                    (0, 10.0, 1.0),
                    (1, 12.0, 1.0),
                    (2, 9.0, 1.0),
                    (3, 11.0, 1.0),
                ],
                &[bar(0, 10.0, 12.0, 9.0, 11.0, 4.0)],
            ),
            (
                "volume accumulates",
                &[(0, 10.0, 0.5), (10, 10.0, 0.25), (20, 10.0, 0.125)],
                &[bar(0, 10.0, 10.0, 10.0, 10.0, 0.875)],
            ),
            (
                "a trade at exactly a window start opens the next bar",
                &[(59_999, 10.0, 1.0), (60_000, 11.0, 1.0)],
                &[
                    bar(0, 10.0, 10.0, 10.0, 10.0, 1.0),
                    bar(60_000, 11.0, 11.0, 11.0, 11.0, 1.0),
                ],
            ),
            (
                "the open bar is updated in place",
                &[(60_000, 10.0, 1.0), (61_000, 11.0, 1.0)],
                &[bar(60_000, 10.0, 11.0, 10.0, 11.0, 2.0)],
            ),
            (
                "an older bar is updated in place, its open kept",
                &[(0, 10.0, 1.0), (60_000, 20.0, 1.0), (30_000, 5.0, 1.0)],
                &[
                    bar(0, 10.0, 10.0, 5.0, 5.0, 2.0),
                    bar(60_000, 20.0, 20.0, 20.0, 20.0, 1.0),
                ],
            ),
            (
                "trades before the epoch",
                &[(-1, 10.0, 1.0), (0, 11.0, 1.0)],
                &[
                    bar(-60_000, 10.0, 10.0, 10.0, 10.0, 1.0),
                    bar(0, 11.0, 11.0, 11.0, 11.0, 1.0),
                ],
            ),
        ];
        for (name, trades, expected) in cases {
            check(name, trades, expected);
        }
    }

    #[test]
    fn take_changed_returns_touched_bars_once() {
        let touch = |series: &mut BarSeries<Bar>, window| {
            series.upsert(
                window,
                || Bar::new(window, 1.0, 1.0),
                |bar| bar.update(2.0, 1.0),
            )
        };
        let windows = |bars: Vec<Bar>| bars.iter().map(|bar| bar.ts).collect::<Vec<_>>();
        let mut series = BarSeries::new();
        assert!(series.take_changed().is_empty());
        touch(&mut series, 0);
        touch(&mut series, 60_000);
        assert_eq!(windows(series.take_changed()), [0, 60_000]);
        assert!(series.take_changed().is_empty());
        touch(&mut series, 60_000);
        assert_eq!(windows(series.take_changed()), [60_000]);
    }

    proptest! {
        /// Any split of a trade sequence into a first and a later part gives the same bars when
        /// the bars of the two parts are merged window by window. Sizes are multiples of 1/1024
        /// below 64 and there are few of them, so every partial sum is exact in an `f64` and the
        /// grouping of the additions cannot change a volume: the comparison can be exact.
        #[test]
        fn any_split_gives_the_same_bars(
            trades in prop::collection::vec((-200_000i64..400_000, 1u32..1000, 1u32..65_536), 0..60),
            split in any::<prop::sample::Index>(),
        ) {
            let trades: Vec<(Millis, f64, f64)> = trades
                .into_iter()
                .map(|(ts, price, size)| (ts, f64::from(price) * 0.5, f64::from(size) / 1024.0))
                .collect();
            let at = split.index(trades.len() + 1);
            let whole = bars_of(&trades, 60_000);
            let first = bars_of(&trades[..at], 60_000);
            let later = bars_of(&trades[at..], 60_000);
            let mut stitched: BTreeMap<Millis, Bar> = first.into_iter().map(|b| (b.ts, b)).collect();
            for bar in later {
                stitched
                    .entry(bar.ts)
                    .and_modify(|earlier| *earlier = earlier.merge(bar))
                    .or_insert(bar);
            }
            prop_assert_eq!(whole, stitched.into_values().collect::<Vec<_>>());
        }
    }

    proptest! {
        /// The series holds what a map keyed by window would, whatever the order of the
        /// windows: every window once, oldest first, each with the updates made to it; the
        /// changed windows and the newest ones as a map would give them.
        #[test]
        fn the_series_is_a_map_by_window(
            steps in prop::collection::vec((0i64..40, 0u8..10), 0..200),
        ) {
            let mut series = BarSeries::new();
            let mut model: BTreeMap<Millis, Vec<u8>> = BTreeMap::new();
            let mut changed_from: Option<Millis> = None;
            for (window, op) in steps {
                match op {
                    0 => {
                        let n = usize::try_from(window).unwrap() % 8;
                        series.keep_newest(n);
                        while model.len() > n {
                            model.pop_first();
                        }
                    }
                    1 => {
                        let from = changed_from.take();
                        let expected: Vec<Vec<u8>> = from
                            .map(|from| model.range(from..).map(|(_, v)| v.clone()).collect())
                            .unwrap_or_default();
                        prop_assert_eq!(series.take_changed(), expected);
                    }
                    _ => {
                        series.upsert(window, || vec![op], |bar| bar.push(op));
                        model.entry(window).and_modify(|bar| bar.push(op)).or_insert_with(|| vec![op]);
                        changed_from = Some(changed_from.map_or(window, |from| from.min(window)));
                    }
                }
                prop_assert_eq!(series.len(), model.len());
                prop_assert_eq!(series.iter().cloned().collect::<Vec<_>>(), model.values().cloned().collect::<Vec<_>>());
                prop_assert_eq!(series.get(window), model.get(&window));
                let n = usize::try_from(window).unwrap() % 5;
                prop_assert_eq!(
                    series.tail(n).cloned().collect::<Vec<_>>(),
                    model.values().rev().take(n).rev().cloned().collect::<Vec<_>>()
                );
            }
        }
    }
}
