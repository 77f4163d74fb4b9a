//! OHLC bars of trades (SPEC 2.3) and the keyed series that holds them.

use std::collections::BTreeMap;

use super::Millis;

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

/// Bars keyed by window start. A window is updated in place even when it is not the newest.
#[derive(Debug, Clone, Default)]
pub struct BarSeries<T> {
    by_window: BTreeMap<Millis, T>,
    /// Lowest window touched since the last `take_changed`.
    changed_from: Option<Millis>,
}

impl<T: Clone> BarSeries<T> {
    pub fn new() -> Self {
        BarSeries {
            by_window: BTreeMap::new(),
            changed_from: None,
        }
    }
    pub fn len(&self) -> usize {
        self.by_window.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_window.is_empty()
    }
    pub fn get(&self, window: Millis) -> Option<&T> {
        self.by_window.get(&window)
    }
    /// All bars, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.by_window.values()
    }
    /// The newest `n` bars, oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = &T> {
        self.by_window.values().skip(self.len().saturating_sub(n))
    }
    /// Updates the bar of `window` with `update`, or creates it with `create`.
    pub fn upsert(
        &mut self,
        window: Millis,
        create: impl FnOnce() -> T,
        update: impl FnOnce(&mut T),
    ) {
        self.by_window
            .entry(window)
            .and_modify(update)
            .or_insert_with(create);
        self.changed_from = Some(self.changed_from.map_or(window, |from| from.min(window)));
    }
    /// The bars touched since the last call, oldest first (a bar newer than a touched one is
    /// included too: it is cheap and keeps the reader's copy contiguous).
    pub fn take_changed(&mut self) -> Vec<T> {
        match self.changed_from.take() {
            Some(from) => self
                .by_window
                .range(from..)
                .map(|(_, bar)| bar.clone())
                .collect(),
            None => Vec::new(),
        }
    }
}
