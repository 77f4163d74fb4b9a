//! The sweep of a heatmap's changes, slice after slice: each level's size is a run of slices
//! until it changes, and a column's total adds each run's size times its slices in the column.
//! Fed the changes (it knows nothing of where they are kept), so that the store's block sums
//! and the queries share it.

use super::packed::Key;

/// A sweep over slices of a heatmap's changes (`HeatmapStore::columns`, a store's block sums):
/// per level, its current run and the total of the column in progress, side by side so that a
/// change touches one cache line.
#[derive(Default)]
pub(super) struct Sweep {
    pub(super) levels: Vec<Run>,
    /// The levels touched in this column.
    pub(super) touched: Vec<Key>,
    /// Levels with a size.
    live: Vec<Key>,
    /// The sizes of the state the sweep starts from.
    start: Vec<f64>,
}

/// One level in the sweep.
#[derive(Clone, Copy)]
pub(super) struct Run {
    /// Its current size (0: none).
    size: f64,
    /// Sum over the column's slices of its size.
    pub(super) total: f64,
    /// The slice its current size holds since.
    since: u32,
    /// The column that last touched its total.
    stamp: u32,
    /// Where it is in `live`.
    position: u32,
}

const NOT_LIVE: u32 = u32::MAX;

impl Sweep {
    /// Starts the sweep over from the state `load` writes (sizes by key), that of slice
    /// `start`, in the room it has.
    pub(super) fn reset(&mut self, load: impl FnOnce(&mut Vec<f64>), start: usize) {
        let mut state = std::mem::take(&mut self.start);
        load(&mut state);
        self.start_from(&state, start);
        self.start = state;
    }

    /// Starts the sweep over from `state` (sizes by key), the state of slice `start`.
    pub(super) fn start_from(&mut self, state: &[f64], start: usize) {
        self.touched.clear();
        self.live.clear();
        self.levels.clear();
        self.levels.reserve(state.len());
        for (key, &held) in state.iter().enumerate() {
            let position = if held > 0.0 {
                self.live.push(key as Key);
                (self.live.len() - 1) as u32
            } else {
                NOT_LIVE
            };
            self.levels.push(Run {
                size: held,
                total: 0.0,
                since: start as u32,
                stamp: u32::MAX,
                position,
            });
        }
    }

    /// Makes room for `keys` levels; the new ones have no size.
    pub(super) fn cover(&mut self, keys: usize) {
        if self.levels.len() < keys {
            let none = Run {
                size: 0.0,
                total: 0.0,
                since: 0,
                stamp: u32::MAX,
                position: NOT_LIVE,
            };
            self.levels.resize(keys, none);
        }
    }

    /// Applies `changes`, those of `slice`, to a sweep kept running from one column to the
    /// next ([`Sweep::take_column`]).
    pub(super) fn apply_running(
        &mut self,
        changes: impl Iterator<Item = (Key, f64)>,
        slice: usize,
    ) {
        self.apply(changes, slice, 0);
    }

    /// Ends the column at slice `end`: each level's sum of its size over the column, by key,
    /// as a sweep of the column afresh gives it. The sweep goes on from `end` with the sums at zero.
    pub(super) fn take_column(&mut self, end: usize) -> Vec<(Key, f64)> {
        self.close_column(end, 0);
        let levels = &mut self.levels;
        let mut sums: Vec<(Key, f64)> = self
            .touched
            .drain(..)
            .map(|key| {
                let level = &mut levels[key as usize];
                level.stamp = u32::MAX;
                (key, std::mem::take(&mut level.total))
            })
            .collect();
        sums.sort_unstable_by_key(|(key, _)| *key);
        sums
    }

    /// Applies `changes`, those of `slice`, in column `column`: each level that changes closes
    /// its run.
    pub(super) fn apply(
        &mut self,
        changes: impl Iterator<Item = (Key, f64)>,
        slice: usize,
        column: u32,
    ) {
        let slice = slice as u32;
        for (key, new) in changes {
            let level = &mut self.levels[key as usize];
            let old = level.size;
            level.size = new;
            let since = std::mem::replace(&mut level.since, slice);
            if old > 0.0 {
                if slice > since {
                    level.total += old * f64::from(slice - since);
                    if level.stamp != column {
                        level.stamp = column;
                        self.touched.push(key);
                    }
                }
                if new <= 0.0 {
                    let at = std::mem::replace(&mut level.position, NOT_LIVE) as usize;
                    self.live.swap_remove(at);
                    if let Some(&moved) = self.live.get(at) {
                        self.levels[moved as usize].position = at as u32;
                    }
                }
            } else if new > 0.0 {
                level.position = self.live.len() as u32;
                self.live.push(key);
            }
        }
    }

    /// Closes the runs of the live levels at `end`, the column's end.
    pub(super) fn close_column(&mut self, end: usize, column: u32) {
        let end = end as u32;
        for &key in &self.live {
            let level = &mut self.levels[key as usize];
            if end > level.since {
                level.total += level.size * f64::from(end - level.since);
                if level.stamp != column {
                    level.stamp = column;
                    self.touched.push(key);
                }
            }
            level.since = end;
        }
    }
}
