//! The bars and footprints of the time windows (SPEC 2.3, 6.1, 6.2): what each in-range trade
//! adds to its window, and nothing else. They depend on the trades alone, in their order, so a
//! `--jobs` stitcher can build the footprints (the larger part) on a thread of their own while
//! it replays the rest of the accounting (see
//! [`Processor::take_footprints`](super::processor::Processor::take_footprints)).

use std::ops::Range;

use super::bars::{Bar, BarSeries, window_start};
use super::event::{Millis, Trade};
use super::footprint::FootprintBar;

/// The bars and footprints of the windows.
#[derive(Debug, Clone)]
pub struct TradeWindows {
    pub(super) bars: Bars,
    pub(super) footprints: Footprints,
}

impl TradeWindows {
    pub fn new(window_ms: i64) -> TradeWindows {
        TradeWindows {
            bars: Bars::new(window_ms),
            footprints: Footprints::new(window_ms),
        }
    }

    pub fn bars(&self) -> &BarSeries<Bar> {
        &self.bars.series
    }

    pub fn footprints(&self) -> &BarSeries<FootprintBar> {
        &self.footprints.series
    }

    /// Keeps the footprints of the newest `n` windows only.
    pub fn keep_newest_footprints(&mut self, n: usize) {
        self.footprints.keep = Some(n);
        self.footprints.series.keep_newest(n);
    }

    /// The bars and footprints touched since the last call.
    pub fn take_changed(&mut self) -> (Vec<Bar>, Vec<FootprintBar>) {
        (
            self.bars.series.take_changed(),
            self.footprints.series.take_changed(),
        )
    }

    /// Adds an in-range trade to its window's bar and footprint.
    #[inline]
    pub fn take(&mut self, trade: &Trade) {
        let window = self.bars.window.of(trade.ts);
        self.bars.take_in(window, trade);
        self.footprints.take_in(window, trade);
    }
}

/// The bars of the windows.
#[derive(Debug, Clone)]
pub(super) struct Bars {
    series: BarSeries<Bar>,
    window: Window,
}

impl Bars {
    fn new(window_ms: i64) -> Bars {
        Bars {
            series: BarSeries::new(),
            window: Window::new(window_ms),
        }
    }

    /// Adds an in-range trade to its window's bar.
    #[inline]
    pub(super) fn take(&mut self, trade: &Trade) {
        let window = self.window.of(trade.ts);
        self.take_in(window, trade);
    }

    /// Adds an in-range trade to the bar of `window`, its window.
    #[inline]
    fn take_in(&mut self, window: Millis, trade: &Trade) {
        let (price, size) = (trade.price, trade.size);
        self.series.upsert(
            window,
            || Bar::new(window, price, size),
            |bar| bar.update(price, size),
        );
    }
}

/// The footprints of the windows, and what makes adding to them cheap.
#[derive(Debug, Clone)]
pub struct Footprints {
    /// The bar extras and footprint of each bar's window (SPEC 6.1, 6.2).
    series: BarSeries<FootprintBar>,
    /// The footprints kept: all (`None`), or the newest this many windows.
    keep: Option<usize>,
    /// The window of the last footprint a trade went to.
    last: Option<Millis>,
    /// The footprint row of the last trade, looked at first for the next one.
    row: usize,
    window: Window,
}

impl Footprints {
    fn new(window_ms: i64) -> Footprints {
        Footprints {
            series: BarSeries::new(),
            keep: None,
            last: None,
            row: 0,
            window: Window::new(window_ms),
        }
    }

    /// No footprints, kept as these are (for a processor whose footprints are away).
    pub(super) fn empty_like(&self) -> Footprints {
        Footprints {
            keep: self.keep,
            ..Footprints::new(self.window.ms)
        }
    }

    /// Adds an in-range trade to its window's footprint.
    #[inline]
    pub fn take(&mut self, trade: &Trade) {
        let window = self.window.of(trade.ts);
        self.take_in(window, trade);
    }

    /// Adds an in-range trade to the footprint of `window`, its window.
    #[inline]
    fn take_in(&mut self, window: Millis, trade: &Trade) {
        let (price, size, side) = (trade.price, trade.size, trade.side);
        if self.last != Some(window) {
            // The trades have moved on from that window (nearly always for good): its rows
            // give back the room they grew into.
            if let Some(bar) = self.last.and_then(|w| self.series.get_mut(w)) {
                // Not shared yet: the copies take the shrunk rows at the next frame.
                if let Some(rows) = triomphe::Arc::get_mut(&mut bar.rows) {
                    rows.shrink_to_fit();
                }
            }
            self.last = Some(window);
        }
        let hint = std::cell::Cell::new(self.row);
        let add = |bar: &mut FootprintBar| {
            let mut row = hint.get();
            bar.add_near(&mut row, price, size, side);
            hint.set(row);
        };
        self.series.upsert(
            window,
            || {
                let mut bar = FootprintBar::new(window);
                add(&mut bar);
                bar
            },
            add,
        );
        self.row = hint.get();
        if let Some(keep) = self.keep {
            self.series.keep_newest(keep);
        }
    }
}

/// The window of the last trade, `range.start..range.end`: nearly every trade falls in it,
/// and then its start needs no division (see [`Window::of`]).
#[derive(Debug, Clone)]
struct Window {
    /// The window length in ms (at least 1).
    ms: i64,
    range: Range<Millis>,
}

impl Window {
    fn new(ms: i64) -> Window {
        Window {
            ms: ms.max(1),
            range: 0..0,
        }
    }

    /// `window_start(ts, ms)`, from the window of the last call when `ts` is in it.
    #[inline]
    fn of(&mut self, ts: Millis) -> Millis {
        if self.range.contains(&ts) {
            return self.range.start;
        }
        let start = window_start(ts, self.ms);
        // A start that saturated at the beginning of time is not where its window begins:
        // keep no window then. An end that saturates at the end of time is still right.
        let end = if start == Millis::MIN {
            start
        } else {
            start.saturating_add(self.ms)
        };
        self.range = start..end;
        start
    }
}
