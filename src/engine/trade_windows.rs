//! The bars and footprints of the time windows (SPEC 2.3, 6.1, 6.2): what each in-range trade
//! adds to its window, and nothing else. They depend on the trades alone, in their order, so a
//! `--jobs` stitcher can build them on a thread of their own while it replays the rest of the
//! accounting (see [`Processor::take_windows`](super::processor::Processor::take_windows)).

use std::ops::Range;

use super::bars::{Bar, BarSeries, window_start};
use super::event::{Millis, Trade};
use super::footprint::FootprintBar;

/// The bars and footprints of the windows, and what makes adding to them cheap.
#[derive(Debug, Clone)]
pub struct TradeWindows {
    /// The window length in ms (at least 1).
    window_ms: i64,
    bars: BarSeries<Bar>,
    /// The bar extras and footprint of each bar's window (SPEC 6.1, 6.2).
    footprints: BarSeries<FootprintBar>,
    /// The footprints kept: all (`None`), or the newest this many windows.
    keep_footprints: Option<usize>,
    /// The window of the last footprint a trade went to.
    last_footprint: Option<Millis>,
    /// The footprint row of the last trade, looked at first for the next one.
    footprint_row: usize,
    /// The window of the last trade, `window.start..window.end`: nearly every trade falls in
    /// it, and then its start needs no division (see [`TradeWindows::window_of`]).
    window: Range<Millis>,
}

impl TradeWindows {
    pub fn new(window_ms: i64) -> TradeWindows {
        TradeWindows {
            window_ms: window_ms.max(1),
            bars: BarSeries::new(),
            footprints: BarSeries::new(),
            keep_footprints: None,
            last_footprint: None,
            footprint_row: 0,
            window: 0..0,
        }
    }

    pub fn bars(&self) -> &BarSeries<Bar> {
        &self.bars
    }

    pub fn footprints(&self) -> &BarSeries<FootprintBar> {
        &self.footprints
    }

    /// Keeps the footprints of the newest `n` windows only.
    pub fn keep_newest_footprints(&mut self, n: usize) {
        self.keep_footprints = Some(n);
        self.footprints.keep_newest(n);
    }

    /// The bars and footprints touched since the last call.
    pub fn take_changed(&mut self) -> (Vec<Bar>, Vec<FootprintBar>) {
        (self.bars.take_changed(), self.footprints.take_changed())
    }

    /// Adds an in-range trade to its window's bar and footprint.
    pub fn take(&mut self, trade: &Trade) {
        let window = self.window_of(trade.ts);
        let (price, size) = (trade.price, trade.size);
        self.bars.upsert(
            window,
            || Bar::new(window, price, size),
            |bar| bar.update(price, size),
        );
        let side = trade.side;
        if self.last_footprint != Some(window) {
            // The trades have moved on from that window (nearly always for good): its rows
            // give back the room they grew into.
            if let Some(bar) = self.last_footprint.and_then(|w| self.footprints.get_mut(w)) {
                // Not shared yet: the copies take the shrunk rows at the next frame.
                if let Some(rows) = triomphe::Arc::get_mut(&mut bar.rows) {
                    rows.shrink_to_fit();
                }
            }
            self.last_footprint = Some(window);
        }
        let hint = std::cell::Cell::new(self.footprint_row);
        let add = |bar: &mut FootprintBar| {
            let mut row = hint.get();
            bar.add_near(&mut row, price, size, side);
            hint.set(row);
        };
        self.footprints.upsert(
            window,
            || {
                let mut bar = FootprintBar::new(window);
                add(&mut bar);
                bar
            },
            add,
        );
        self.footprint_row = hint.get();
        if let Some(keep) = self.keep_footprints {
            self.footprints.keep_newest(keep);
        }
    }

    /// `window_start(ts, window_ms)`, from the window of the last call when `ts` is in it.
    #[inline]
    fn window_of(&mut self, ts: Millis) -> Millis {
        if self.window.contains(&ts) {
            return self.window.start;
        }
        let start = window_start(ts, self.window_ms);
        // A start that saturated at the beginning of time is not where its window begins:
        // keep no window then. An end that saturates at the end of time is still right.
        let end = if start == Millis::MIN {
            start
        } else {
            start.saturating_add(self.window_ms)
        };
        self.window = start..end;
        start
    }
}
