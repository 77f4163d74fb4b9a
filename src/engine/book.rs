//! The order book: two ordered sides of price → size (SPEC 2.2).

use std::cmp::Ordering;

use super::event::Level;
use super::exact_sum::{ExactSum, Fixed};
use super::price::{Price, is_positive_finite};

/// One side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookSide {
    /// Buyers' levels; best = highest price.
    Bid,
    /// Sellers' levels; best = lowest price.
    Ask,
}

/// The order book: bids and asks, each a map of price → size with no level of size 0.
///
/// Representation: each side is a sorted vector of (price, size) slots with the BEST level at
/// the END (bids ascending, asks descending).
/// - Updates cluster near the top of the book, so inserting or removing there shifts only the
///   few levels above it; a `BTreeMap` would pay a pointer chase and a node allocation instead.
/// - Best-first sums (OBI over the best N levels after every row) walk one contiguous slice.
///   The whole-book sums are not walked at all: each side keeps the exact sum of its
///   sizes up to date on every change (an [`ExactSum`]), so OBI over the whole book costs
///   O(1) per row rather than O(levels).
/// - The cost is a shift of the levels between the change and the nearer end of the side (a
///   gap kept below the worst level makes the bottom end cheap too, see `Ladder`), and an
///   O(n log n) sort for a snapshot.
///
/// Invariant: no side holds a level of size 0 (or a non-finite size), and prices on each side
/// are strictly ordered.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    bids: Ladder,
    asks: Ladder,
}

impl OrderBook {
    pub fn new() -> Self {
        OrderBook::default()
    }

    /// Replaces both sides with the given levels. Levels of size 0 are dropped; among levels
    /// of the same price the last one wins (after dropping, as the seed did with a dict built
    /// from its filtered levels). An empty slice leaves that side empty.
    pub fn apply_snapshot(&mut self, bids: &[Level], asks: &[Level]) {
        self.bids.replace(BookSide::Bid, bids);
        self.asks.replace(BookSide::Ask, asks);
    }

    /// Sets the size of each given level, in order; size 0 removes the level (removing a
    /// missing level is no error). An empty slice changes nothing on that side.
    pub fn apply_update(&mut self, bids: &[Level], asks: &[Level]) {
        self.bids.set_all(BookSide::Bid, bids);
        self.asks.set_all(BookSide::Ask, asks);
    }

    /// The highest bid, `None` when there is no bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.best()
    }

    /// The lowest ask, `None` when there is no ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.best()
    }

    /// Bids, best (highest price) first.
    pub fn bids(&self) -> impl ExactSizeIterator<Item = Level> + '_ {
        self.bids.best_first()
    }

    /// Asks, best (lowest price) first.
    pub fn asks(&self) -> impl ExactSizeIterator<Item = Level> + '_ {
        self.asks.best_first()
    }

    /// The levels of `side`, best first.
    pub fn levels(&self, side: BookSide) -> impl ExactSizeIterator<Item = Level> + '_ {
        self.ladder(side).best_first()
    }

    /// Sum of the sizes of the best `n` levels of `side` (all levels when `n` is `None`).
    ///
    /// A whole side is its exact sum, correctly rounded, when the side has one (see
    /// [`OrderBook::exact_size_sums`]); otherwise the sizes are added best first. Either way
    /// the result depends on the levels alone, not on the history that built them or on the
    /// representation.
    pub fn top_sizes_sum(&self, side: BookSide, n: Option<usize>) -> f64 {
        let ladder = self.ladder(side);
        match (n, ladder.total.get()) {
            (None, Some(exact)) => exact.to_f64(),
            _ => sum_best_first(ladder.top(n)),
        }
    }

    /// Sums of the sizes of the best `n` levels of both sides, as [`OrderBook::top_sizes_sum`]
    /// gives them.
    pub fn top_sizes_sums(&self, n: Option<usize>) -> SizeSums {
        if n.is_none() {
            return SizeSums {
                bids: self.top_sizes_sum(BookSide::Bid, None),
                asks: self.top_sizes_sum(BookSide::Ask, None),
            };
        }
        self.best_first_sums(n)
    }

    /// The exact sums of all the sizes of each side, kept up to date by every change, so O(1).
    ///
    /// `None` when a side holds a size that an [`ExactSum`] does not hold: one of 2^60 or more,
    /// or with bits below 2^-160. A valid recording has none (SPEC 1.2 caps sizes at 1e15).
    pub fn exact_size_sums(&self) -> Option<ExactSizeSums> {
        Some(ExactSizeSums {
            bids: self.bids.total.get()?,
            asks: self.asks.total.get()?,
        })
    }

    /// Both sides summed best first, in one pass: the two sums run side by side, so the loop
    /// is not bound by one chain of dependent additions.
    fn best_first_sums(&self, n: Option<usize>) -> SizeSums {
        let bids = self.bids.top(n);
        let asks = self.asks.top(n);
        let common = bids.len().min(asks.len());
        let (bid_rest, bid_common) = bids.split_at(bids.len() - common);
        let (ask_rest, ask_common) = asks.split_at(asks.len() - common);
        let (mut b, mut a) = (0.0, 0.0);
        for (bid, ask) in bid_common.iter().rev().zip(ask_common.iter().rev()) {
            b += bid.size;
            a += ask.size;
        }
        SizeSums {
            bids: bid_rest.iter().rev().fold(b, |sum, slot| sum + slot.size),
            asks: ask_rest.iter().rev().fold(a, |sum, slot| sum + slot.size),
        }
    }

    /// Number of levels on `side`.
    pub fn len(&self, side: BookSide) -> usize {
        self.ladder(side).len()
    }

    /// Whether both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.bids.len() == 0 && self.asks.len() == 0
    }

    /// Removes every level, keeping the allocations.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn ladder(&self, side: BookSide) -> &Ladder {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }
}

/// Summed sizes of the two sides of the book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeSums {
    pub bids: f64,
    pub asks: f64,
}

/// The exact sums of the sizes of the two whole sides of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactSizeSums {
    pub bids: Fixed,
    pub asks: Fixed,
}

/// Adds the sizes of `slots` (stored worst first) from the best level down.
#[inline]
fn sum_best_first(slots: &[Slot]) -> f64 {
    slots.iter().rev().fold(0.0, |sum, slot| sum + slot.size)
}

/// Whether a size from a row deletes its level. The source sends only finite sizes `>= 0`;
/// anything else (NaN, negative, infinite) is treated as a deletion rather than stored,
/// so the book's invariant holds whatever it is given.
#[inline]
fn deletes(size: f64) -> bool {
    !is_positive_finite(size)
}

/// One side, worst level first, best level last: the live levels are `slots[head..]`, and
/// `total` is the exact sum of their sizes.
///
/// The `head` slots before them are a gap, so that a level inserted or removed in the worse
/// half of the side shifts the levels below it (into or out of the gap) rather than the ones
/// above it: a change costs a shift of at most half the side. This matters because a deep
/// book (OKX sends 400 levels) changes at both ends: near the top as the market trades, and at
/// the bottom as levels enter and leave the depth the exchange publishes.
#[derive(Debug, Clone, Default)]
struct Ladder {
    slots: Vec<Slot>,
    head: usize,
    total: ExactSum,
}

/// A level of a [`Ladder`] (or a slot of its gap).
///
/// Price and size side by side, rather than in two vectors: most changes insert or remove a
/// level (a size change mostly arrives as a removal and an insertion), and each one then
/// shifts one array, one `memmove`, instead of two. The search reads the prices at a stride of
/// 16 bytes instead of 8, which costs it nothing it can measure.
#[derive(Debug, Clone, Copy)]
struct Slot {
    price: Price,
    size: f64,
}

/// The `hint` of [`Ladder::find_with`] when there is none: no level is below index 0.
const NO_HINT: usize = 0;

/// What fills the gap: never read as a level.
const GAP_SLOT: Slot = Slot {
    price: Price::ONE,
    size: 0.0,
};

impl Slot {
    #[inline]
    fn level(&self) -> Level {
        Level {
            price: self.price.get(),
            size: self.size,
        }
    }
}

impl Ladder {
    /// Orders prices worst first: ascending for bids, descending for asks.
    #[inline]
    fn worst_first(side: BookSide, a: Price, b: Price) -> Ordering {
        match side {
            BookSide::Bid => a.cmp(&b),
            BookSide::Ask => b.cmp(&a),
        }
    }

    #[inline]
    fn live(&self) -> &[Slot] {
        &self.slots[self.head..]
    }

    #[inline]
    fn len(&self) -> usize {
        self.slots.len() - self.head
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.head = 0;
        self.total.clear();
    }

    fn best(&self) -> Option<Level> {
        self.live().last().map(Slot::level)
    }

    fn best_first(&self) -> impl ExactSizeIterator<Item = Level> + '_ {
        self.live().iter().rev().map(Slot::level)
    }

    /// The best `n` levels (all when `None`), still worst first.
    #[inline]
    fn top(&self, n: Option<usize>) -> &[Slot] {
        let live = self.live();
        let len = live.len();
        let take = n.map_or(len, |n| n.min(len));
        &live[len - take..]
    }

    /// Where `price` is (`Ok`) or would be inserted (`Err`) among the live levels, as
    /// `binary_search` says it.
    ///
    /// Updates cluster at both ends of a side: at the top as the market trades, at the bottom
    /// as levels enter and leave the depth the exchange publishes (on a 400-level synthetic
    /// day, 60 % of changes are within 16 levels of the best and 35 % within 16 of the worst).
    /// So one compare with the middle level picks the half, and the search gallops in from that
    /// half's end (1, 2, 4, 8, ... levels) until it passes `price`, then bisects the last
    /// stretch: a level `d` from its end costs about `2 log2 d + 1` compares, against 9 for a
    /// bisection of 400 levels. Compares are on the price bits (ordered as the prices, see
    /// `Price::bits`), cheaper than `total_cmp` in the loop that takes most of an update.
    ///
    /// [`Ladder::set`] inlines this search (with the hint of the row's previous level); the
    /// tests check it through this entry point.
    #[cfg(test)]
    fn find(&self, side: BookSide, price: Price) -> Result<usize, usize> {
        let key = price.bits();
        // A copy of the search for each side, so that no compare in its loops tests `side`.
        match side {
            BookSide::Bid => self.find_with(key, NO_HINT, |p: &Price| p.bits() > key),
            BookSide::Ask => self.find_with(key, NO_HINT, |p: &Price| p.bits() < key),
        }
    }

    /// [`Ladder::find`] for the price with bits `key`, where `better(p)` tells whether a level
    /// at `p` is better than `key`, trying first whether it sits right below live index
    /// `hint` (where the row's previous level was: see [`Ladder::set_all`]; [`NO_HINT`] when
    /// there is none).
    #[inline(always)]
    fn find_with(
        &self,
        key: u64,
        hint: usize,
        better: impl Fn(&Price) -> bool,
    ) -> Result<usize, usize> {
        let live = self.live();
        let better = |slot: &Slot| better(&slot.price);
        let len = live.len();
        if let Some(below) = hint.checked_sub(1).and_then(|i| live.get(i)) {
            // The first level better than `key` is at `hint` when the one below is not.
            if !better(below) && live.get(hint).is_none_or(better) {
                return if below.price.bits() == key {
                    Ok(hint - 1)
                } else {
                    Err(hint)
                };
            }
        }
        let mid = len / 2;
        // The first level better than `price` is somewhere in `lo..=hi`.
        let (lo, hi) = match live.get(mid) {
            None => (0, 0),
            Some(p) if better(p) => {
                // In the worse half: up from the worst level. A fifth of all changes add a
                // level below the worst one: that takes one compare.
                if better(&live[0]) {
                    return Err(0);
                }
                let (mut lo, mut step) = (1, 1);
                let hi = loop {
                    let i = lo + step - 1;
                    if i >= mid {
                        break mid;
                    }
                    if better(&live[i]) {
                        break i;
                    }
                    lo = i + 1;
                    step *= 2;
                };
                (lo, hi)
            }
            Some(_) => {
                // In the better half: down from the best level. A quarter of all changes are
                // at the best level or above it: that takes one compare and one test of
                // equality.
                let best = &live[len - 1];
                if !better(best) {
                    return if best.price.bits() == key {
                        Ok(len - 1)
                    } else {
                        Err(len)
                    };
                }
                let (mut hi, mut step) = (len - 1, 1);
                let lo = loop {
                    let i = hi - step.min(hi);
                    if i <= mid {
                        break mid + 1;
                    }
                    if !better(&live[i]) {
                        break i + 1;
                    }
                    hi = i;
                    step *= 2;
                };
                (lo, hi)
            }
        };
        let first_better = lo + live[lo..hi].partition_point(|slot| !better(slot));
        match first_better.checked_sub(1) {
            Some(i) if live[i].price.bits() == key => Ok(i),
            _ => Err(first_better),
        }
    }

    /// Sets each of `levels` in turn, as [`Ladder::set`] does.
    ///
    /// One call per side of a row, with `set` inlined into its loop: an update changes a
    /// dozen levels or so, each in a hundred-odd instructions, and a call per level added
    /// the saving and restoring of six registers to each.
    ///
    /// Exchanges list a row's levels best first (every row of the benchmark recordings does),
    /// and a row often changes a run of neighbouring levels: a market moving up adds bids one
    /// right below the other above the old best, drops asks from the best one after the
    /// other, and drops the levels that fall out of the published depth one above the other
    /// at the bottom. So each level is first looked for right below the previous one, which
    /// takes two compares; any other level, or a row in any other order, is searched for
    /// from the ends of the side as before.
    #[inline(never)]
    fn set_all(&mut self, side: BookSide, levels: &[Level]) {
        let mut hint = NO_HINT;
        for level in levels {
            if let Some(i) = self.set(side, *level, hint) {
                hint = i;
            }
        }
    }

    /// Sets the size of one level; a deleting size removes it. Levels with an invalid price
    /// (the source never sends them) are ignored. Returns the live index the level has, had
    /// or would have had (any level worse than it is below that index), or `None` for an
    /// ignored level.
    #[inline(always)]
    fn set(&mut self, side: BookSide, level: Level, hint: usize) -> Option<usize> {
        let price = Price::new(level.price)?;
        let key = price.bits();
        let found = match side {
            BookSide::Bid => self.find_with(key, hint, |p: &Price| p.bits() > key),
            BookSide::Ask => self.find_with(key, hint, |p: &Price| p.bits() < key),
        };
        match found {
            Ok(i) if deletes(level.size) => self.remove(i),
            Ok(i) => self.resize(i, level.size),
            Err(_) if deletes(level.size) => {}
            Err(i) => self.insert(i, price, level.size),
        }
        Some(match found {
            Ok(i) | Err(i) => i,
        })
    }

    /// Sets the size of the level at live index `i`.
    #[inline]
    fn resize(&mut self, i: usize, size: f64) {
        let slot = &mut self.slots[self.head + i].size;
        self.total.replace(*slot, size);
        *slot = size;
    }

    /// Inserts a level at live index `i`, shifting the shorter part of the side.
    fn insert(&mut self, i: usize, price: Price, size: f64) {
        self.total.add(size);
        let len = self.len();
        if i >= len / 2 {
            self.slots.insert(self.head + i, Slot { price, size });
            return;
        }
        if self.head == 0 {
            self.open_gap(len / 2 + 8);
        }
        // The `i` worse levels move one slot down into the gap (a new worst level moves
        // none: no call to `memmove` for nothing).
        let head = self.head;
        if i > 0 {
            self.slots.copy_within(head..head + i, head - 1);
        }
        self.head -= 1;
        self.slots[self.head + i] = Slot { price, size };
    }

    /// Removes the level at live index `i`, shifting the shorter part of the side.
    fn remove(&mut self, i: usize) {
        self.total.remove(self.slots[self.head + i].size);
        let len = self.len();
        if i + 1 == len {
            // The best level: nothing above it moves.
            self.slots.pop();
            return;
        }
        if i >= len / 2 {
            self.slots.remove(self.head + i);
            return;
        }
        // The `i` worse levels move one slot up, and the gap grows by one.
        let head = self.head;
        self.slots.copy_within(head..head + i, head + 1);
        self.head += 1;
        if self.head > 2 * len + 64 {
            // A side that keeps losing levels at the bottom (a market drifting away from them)
            // would grow its gap without end: give most of it back.
            let drop = self.head - len / 2 - 8;
            self.slots.drain(..drop);
            self.head -= drop;
        }
    }

    /// Makes a gap of `n` slots before the live levels (which must have none).
    #[cold]
    fn open_gap(&mut self, n: usize) {
        self.slots.splice(0..0, std::iter::repeat_n(GAP_SLOT, n));
        self.head = n;
    }

    /// Replaces the side with `levels`: deleting sizes and invalid prices dropped, last of
    /// equal prices wins.
    fn replace(&mut self, side: BookSide, levels: &[Level]) {
        self.clear();
        let mut kept: Vec<(Price, f64)> = levels
            .iter()
            .filter(|level| !deletes(level.size))
            .filter_map(|level| Some((Price::new(level.price)?, level.size)))
            .collect();
        // Stable, so equal prices stay in row order and the last of them is the last kept.
        kept.sort_by(|a, b| Self::worst_first(side, a.0, b.0));
        for (i, &(price, size)) in kept.iter().enumerate() {
            let later_duplicate = kept.get(i + 1).is_some_and(|next| next.0 == price);
            if !later_duplicate {
                self.slots.push(Slot { price, size });
                self.total.add(size);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn levels(pairs: &[(f64, f64)]) -> Vec<Level> {
        pairs
            .iter()
            .map(|&(price, size)| Level { price, size })
            .collect()
    }

    fn pairs(levels: impl Iterator<Item = Level>) -> Vec<(f64, f64)> {
        levels.map(|level| (level.price, level.size)).collect()
    }

    /// A plain map model of SPEC 2.2: each side's price → size, bids then asks.
    type Model = [std::collections::BTreeMap<Price, f64>; 2];

    /// Applies a row to the model: a snapshot replaces both sides, size 0 deletes a level.
    fn apply_to_model(model: &mut Model, snapshot: bool, bids: &[Level], asks: &[Level]) {
        for (side, levels) in model.iter_mut().zip([bids, asks]) {
            if snapshot {
                side.clear();
            }
            for level in levels {
                let price = Price::new(level.price).unwrap();
                if level.size > 0.0 {
                    side.insert(price, level.size);
                } else if !snapshot {
                    side.remove(&price);
                }
            }
        }
    }

    /// A side as `(price, size)` pairs, best first.
    type Pairs = Vec<(f64, f64)>;

    /// A side holding a level at each of `ticks` (size 1), and its prices worst first.
    fn ladder_of(side: BookSide, ticks: &std::collections::BTreeSet<u32>) -> (Ladder, Vec<Price>) {
        let mut prices: Vec<Price> = ticks
            .iter()
            .map(|&t| Price::new(f64::from(t)).unwrap())
            .collect();
        prices.sort_by(|a, b| Ladder::worst_first(side, *a, *b));
        let ladder = Ladder {
            slots: prices
                .iter()
                .map(|&price| Slot { price, size: 1.0 })
                .collect(),
            ..Ladder::default()
        };
        (ladder, prices)
    }

    /// The model's two sides, bids then asks.
    fn model_sides(model: &Model) -> (Pairs, Pairs) {
        let bids = model[0].iter().rev().map(|(p, s)| (p.get(), *s)).collect();
        let asks = model[1].iter().map(|(p, s)| (p.get(), *s)).collect();
        (bids, asks)
    }

    enum Row<'a> {
        Snapshot(&'a [(f64, f64)], &'a [(f64, f64)]),
        Update(&'a [(f64, f64)], &'a [(f64, f64)]),
    }

    /// Applies `rows` to an empty book and compares both sides, best first.
    #[track_caller]
    fn check(name: &str, rows: &[Row], bids: &[(f64, f64)], asks: &[(f64, f64)]) {
        let mut book = OrderBook::new();
        for row in rows {
            match row {
                Row::Snapshot(b, a) => book.apply_snapshot(&levels(b), &levels(a)),
                Row::Update(b, a) => book.apply_update(&levels(b), &levels(a)),
            }
        }
        assert_eq!(pairs(book.bids()), bids, "case {name}: bids");
        assert_eq!(pairs(book.asks()), asks, "case {name}: asks");
    }

    #[test]
    fn rows_build_the_book() {
        use Row::*;
        type Case<'a> = (&'a str, &'a [Row<'a>], &'a [(f64, f64)], &'a [(f64, f64)]);
        let cases: &[Case] = &[
            ("empty book", &[], &[], &[]),
            (
                "snapshot sorts each side best first",
                &[Snapshot(
                    &[(99.0, 1.0), (100.0, 2.0), (98.0, 3.0)],
                    &[(102.0, 1.0), (101.0, 2.0)],
                )],
                &[(100.0, 2.0), (99.0, 1.0), (98.0, 3.0)],
                &[(101.0, 2.0), (102.0, 1.0)],
            ),
            (
                "snapshot drops size-0 levels",
                &[Snapshot(&[(100.0, 0.0), (99.0, 1.0)], &[(101.0, 0.0)])],
                &[(99.0, 1.0)],
                &[],
            ),
            (
                "snapshot duplicate price: last wins",
                &[Snapshot(&[(100.0, 1.0), (99.0, 1.0), (100.0, 5.0)], &[])],
                &[(100.0, 5.0), (99.0, 1.0)],
                &[],
            ),
            (
                "snapshot duplicate price: a later size 0 is dropped first",
                &[Snapshot(&[(100.0, 1.0), (100.0, 0.0)], &[])],
                &[(100.0, 1.0)],
                &[],
            ),
            (
                "snapshot replaces both sides",
                &[
                    Snapshot(&[(100.0, 1.0), (99.0, 1.0)], &[(101.0, 1.0)]),
                    Update(&[(98.0, 1.0)], &[(103.0, 1.0)]),
                    Snapshot(&[(90.0, 2.0)], &[(91.0, 2.0)]),
                ],
                &[(90.0, 2.0)],
                &[(91.0, 2.0)],
            ),
            (
                "empty side of a snapshot empties that side",
                &[
                    Snapshot(&[(100.0, 1.0)], &[(101.0, 1.0)]),
                    Snapshot(&[(100.0, 1.0)], &[]),
                ],
                &[(100.0, 1.0)],
                &[],
            ),
            (
                "update inserts, changes and deletes",
                &[
                    Snapshot(&[(100.0, 1.0), (99.0, 1.0)], &[(101.0, 1.0), (102.0, 1.0)]),
                    Update(
                        &[(100.5, 3.0), (99.0, 0.0)],
                        &[(101.0, 7.0), (102.0, 0.0), (100.7, 1.0)],
                    ),
                ],
                &[(100.5, 3.0), (100.0, 1.0)],
                &[(100.7, 1.0), (101.0, 7.0)],
            ),
            (
                "deleting a missing level is no error",
                &[
                    Snapshot(&[(100.0, 1.0)], &[(101.0, 1.0)]),
                    Update(&[(42.0, 0.0)], &[(43.0, 0.0)]),
                ],
                &[(100.0, 1.0)],
                &[(101.0, 1.0)],
            ),
            (
                "empty update changes nothing",
                &[Snapshot(&[(100.0, 1.0)], &[(101.0, 1.0)]), Update(&[], &[])],
                &[(100.0, 1.0)],
                &[(101.0, 1.0)],
            ),
            (
                "update before any snapshot applies to the empty book",
                &[Update(&[(100.0, 1.0), (100.0, 2.0)], &[(101.0, 0.0)])],
                &[(100.0, 2.0)],
                &[],
            ),
            (
                "invalid prices are ignored, invalid sizes delete",
                &[
                    Snapshot(&[(100.0, 1.0), (99.0, 1.0)], &[]),
                    Update(
                        &[
                            (f64::NAN, 1.0),
                            (-1.0, 1.0),
                            (100.0, f64::NAN),
                            (99.0, -1.0),
                        ],
                        &[],
                    ),
                ],
                &[],
                &[],
            ),
        ];
        for (name, rows, bids, asks) in cases {
            check(name, rows, bids, asks);
        }
    }

    #[test]
    fn best_levels_are_none_on_an_empty_side() {
        let mut book = OrderBook::new();
        assert_eq!((book.best_bid(), book.best_ask()), (None, None));
        book.apply_update(&levels(&[(100.0, 1.0), (99.0, 2.0)]), &[]);
        assert_eq!(
            book.best_bid(),
            Some(Level {
                price: 100.0,
                size: 1.0
            })
        );
        assert_eq!(book.best_ask(), None);
        assert_eq!((book.len(BookSide::Bid), book.len(BookSide::Ask)), (2, 0));
        assert!(!book.is_empty());
        book.clear();
        assert!(book.is_empty());
    }

    #[test]
    fn top_sizes_sum_counts_the_best_levels() {
        let mut book = OrderBook::new();
        book.apply_snapshot(
            &levels(&[(100.0, 1.0), (99.0, 2.0), (98.0, 4.0)]),
            &levels(&[(101.0, 8.0), (102.0, 16.0)]),
        );
        let cases: &[(&str, BookSide, Option<usize>, f64)] = &[
            ("all bids", BookSide::Bid, None, 7.0),
            ("best bid", BookSide::Bid, Some(1), 1.0),
            ("best two bids", BookSide::Bid, Some(2), 3.0),
            ("more than there are", BookSide::Bid, Some(10), 7.0),
            ("none", BookSide::Bid, Some(0), 0.0),
            ("all asks", BookSide::Ask, None, 24.0),
            ("best ask", BookSide::Ask, Some(1), 8.0),
        ];
        for &(name, side, n, expected) in cases {
            assert_eq!(book.top_sizes_sum(side, n), expected, "case {name}");
        }
        assert_eq!(
            book.top_sizes_sums(Some(2)),
            SizeSums {
                bids: 3.0,
                asks: 24.0
            }
        );
        assert_eq!(
            book.top_sizes_sums(None),
            SizeSums {
                bids: 7.0,
                asks: 24.0
            }
        );
    }

    /// A market drifting up for a long time: each row adds a bid at the top and an ask at the
    /// bottom of the asks, and drops the worst bid and the best ask. Every change lands at an
    /// end of a side, where the gap below the worst level takes the shifts; the book stays
    /// right and the gap stays small.
    #[test]
    fn a_drifting_book_stays_right_and_small() {
        let mut book = OrderBook::new();
        let depth = 50;
        let bids: Vec<Level> = (0..depth)
            .map(|t| Level {
                price: f64::from(1000 + t),
                size: 1.0,
            })
            .collect();
        let asks: Vec<Level> = (0..depth)
            .map(|t| Level {
                price: f64::from(2000 + t),
                size: 1.0,
            })
            .collect();
        book.apply_snapshot(&bids, &asks);
        for step in 0..5000 {
            let up = f64::from(step);
            book.apply_update(
                &levels(&[(1000.0 + f64::from(depth) + up, 2.0), (1000.0 + up, 0.0)]),
                &levels(&[(2000.0 + f64::from(depth) + up, 3.0), (2000.0 + up, 0.0)]),
            );
            let top = 1000.0 + f64::from(depth) + up;
            assert_eq!(book.best_bid().map(|l| l.price), Some(top));
            assert_eq!(book.len(BookSide::Bid), depth as usize);
            assert_eq!(book.len(BookSide::Ask), depth as usize);
            assert_eq!(book.best_ask().map(|l| l.price), Some(2001.0 + up));
            for ladder in [&book.bids, &book.asks] {
                assert!(
                    ladder.slots.len() <= 3 * (depth as usize + 1) + 64,
                    "gap keeps growing"
                );
            }
        }
        let bids: Vec<(f64, f64)> = pairs(book.bids());
        assert_eq!(
            bids.first(),
            Some(&(1000.0 + f64::from(depth) + 4999.0, 2.0))
        );
        assert_eq!(bids.last(), Some(&(1000.0 + 5000.0, 2.0)));
        assert!(bids.windows(2).all(|w| w[0].0 == w[1].0 + 1.0));
    }

    fn arb_level() -> impl Strategy<Value = Level> {
        // A few prices so updates hit existing levels; sizes include many zeros.
        (1u32..20, prop_oneof![Just(0.0), 0.5f64..10.0]).prop_map(|(tick, size)| Level {
            price: f64::from(tick) * 0.5,
            size,
        })
    }

    /// Applies one generated row: a snapshot or an update.
    fn apply_row(book: &mut OrderBook, snapshot: bool, bids: &[Level], asks: &[Level]) {
        if snapshot {
            book.apply_snapshot(bids, asks);
        } else {
            book.apply_update(bids, asks);
        }
    }

    fn arb_row() -> impl Strategy<Value = (bool, Vec<Level>, Vec<Level>)> {
        row_of(arb_level)
    }

    fn row_of<S: Strategy<Value = Level>>(
        level: fn() -> S,
    ) -> impl Strategy<Value = (bool, Vec<Level>, Vec<Level>)> {
        (
            prop::bool::weighted(0.15),
            prop::collection::vec(level(), 0..12),
            prop::collection::vec(level(), 0..12),
        )
    }

    /// Sizes from every corner: decimal lots, any bits, the SPEC's 1e15 cap, and (rarely) a
    /// size whose bits reach below what the exact sums hold. Zero deletes. The metrics' tests
    /// draw from it too.
    pub(crate) fn arb_wide_size() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => Just(0.0),
            8 => (1u32..100_000).prop_map(|n| f64::from(n) / 1000.0),
            4 => 1e-9f64..1e6,
            1 => Just(1e15),
            1 => Just(1e-40),
        ]
    }

    fn arb_wide_level() -> impl Strategy<Value = Level> {
        (1u32..20, arb_wide_size()).prop_map(|(tick, size)| Level {
            price: f64::from(tick) * 0.5,
            size,
        })
    }

    fn arb_wide_row() -> impl Strategy<Value = (bool, Vec<Level>, Vec<Level>)> {
        row_of(arb_wide_level)
    }

    /// The exact sums of the live sizes, added afresh best first.
    fn exact_sums_afresh(book: &OrderBook) -> Option<ExactSizeSums> {
        let sum = |side| {
            let mut sum = ExactSum::default();
            book.levels(side).for_each(|level| sum.add(level.size));
            sum.get()
        };
        Some(ExactSizeSums {
            bids: sum(BookSide::Bid)?,
            asks: sum(BookSide::Ask)?,
        })
    }

    #[test]
    fn a_huge_level_that_comes_and_goes_leaves_the_sums_exact() {
        let mut book = OrderBook::new();
        book.apply_snapshot(&levels(&[(100.0, 0.1), (99.0, 0.2)]), &[]);
        book.apply_update(&levels(&[(98.0, 1e15)]), &[]);
        book.apply_update(&levels(&[(99.0, 0.3), (98.0, 0.0)]), &[]);
        assert_eq!(book.top_sizes_sum(BookSide::Bid, None), 0.4);
        let exact = book.exact_size_sums().map(|sums| sums.bids);
        assert_eq!(exact, exact_sums_afresh(&book).map(|sums| sums.bids));
        // A size the sums cannot hold suspends them until it leaves.
        book.apply_update(&levels(&[(97.0, 1e-40)]), &[]);
        assert_eq!(book.exact_size_sums(), None);
        assert_eq!(book.top_sizes_sum(BookSide::Bid, None), 0.4 + 1e-40);
        book.apply_update(&levels(&[(97.0, 0.0)]), &[]);
        assert_eq!(book.exact_size_sums().map(|sums| sums.bids), exact);
    }

    proptest! {
        /// After any sequence of rows, no level has size 0, each side is strictly ordered best
        /// first, and the combined sums agree with the one-side sums.
        #[test]
        fn book_invariants_hold(rows in prop::collection::vec(arb_row(), 0..40)) {
            let mut book = OrderBook::new();
            for (snapshot, bids, asks) in &rows {
                apply_row(&mut book, *snapshot, bids, asks);
                let bids: Vec<Level> = book.bids().collect();
                let asks: Vec<Level> = book.asks().collect();
                prop_assert!(bids.iter().chain(&asks).all(|level| level.size > 0.0));
                prop_assert!(bids.windows(2).all(|w| w[0].price > w[1].price));
                prop_assert!(asks.windows(2).all(|w| w[0].price < w[1].price));
                for n in [None, Some(1), Some(3)] {
                    let sums = book.top_sizes_sums(n);
                    prop_assert_eq!(sums.bids, book.top_sizes_sum(BookSide::Bid, n));
                    prop_assert_eq!(sums.asks, book.top_sizes_sum(BookSide::Ask, n));
                }
            }
        }

        /// The galloping search answers as `binary_search` does, on sides of any depth and
        /// for prices at, between, above and below the levels.
        #[test]
        fn find_agrees_with_binary_search(
            ticks in prop::collection::btree_set(1u32..2_000, 0..600),
            probes in prop::collection::vec(0u32..2_001, 1..50),
        ) {
            for side in [BookSide::Bid, BookSide::Ask] {
                let (ladder, prices) = ladder_of(side, &ticks);
                for &probe in &probes {
                    let Some(price) = Price::new(f64::from(probe)) else {
                        continue;
                    };
                    let expected =
                        prices.binary_search_by(|p| Ladder::worst_first(side, *p, price));
                    prop_assert_eq!(ladder.find(side, price), expected, "{:?} {}", side, probe);
                }
            }
        }

        /// The search answers as `binary_search` does whatever its hint: right, wrong, past
        /// the end, or none.
        #[test]
        fn find_with_any_hint_agrees_with_binary_search(
            ticks in prop::collection::btree_set(1u32..200, 0..60),
            probes in prop::collection::vec((1u32..201, 0usize..64), 1..50),
        ) {
            for side in [BookSide::Bid, BookSide::Ask] {
                let (ladder, prices) = ladder_of(side, &ticks);
                for &(probe, hint) in &probes {
                    let price = Price::new(f64::from(probe)).unwrap();
                    let key = price.bits();
                    let expected =
                        prices.binary_search_by(|p| Ladder::worst_first(side, *p, price));
                    let found = match side {
                        BookSide::Bid => ladder.find_with(key, hint, |p: &Price| p.bits() > key),
                        BookSide::Ask => ladder.find_with(key, hint, |p: &Price| p.bits() < key),
                    };
                    prop_assert_eq!(found, expected, "{:?} {} hint {}", side, probe, hint);
                }
            }
        }

        /// Rows listed best first, as exchanges send them (so each level is looked for below
        /// the previous one), leave the book a plain map model gives.
        #[test]
        fn best_first_rows_match_a_map_model(rows in prop::collection::vec(arb_row(), 0..40)) {
            let sorted = |levels: &[Level], side: BookSide| {
                let mut levels = levels.to_vec();
                levels.sort_by(|a, b| {
                    let (a, b) = (Price::new(a.price).unwrap(), Price::new(b.price).unwrap());
                    Ladder::worst_first(side, b, a)
                });
                levels
            };
            let mut book = OrderBook::new();
            let mut model = Model::default();
            for (snapshot, bids, asks) in &rows {
                let (bids, asks) = (sorted(bids, BookSide::Bid), sorted(asks, BookSide::Ask));
                apply_row(&mut book, *snapshot, &bids, &asks);
                apply_to_model(&mut model, *snapshot, &bids, &asks);
                let (model_bids, model_asks) = model_sides(&model);
                prop_assert_eq!(pairs(book.bids()), model_bids);
                prop_assert_eq!(pairs(book.asks()), model_asks);
            }
        }

        /// Whatever the history of rows, each side's running sum is the exact sum of its live
        /// sizes, and a whole side's `top_sizes_sum` is that sum correctly rounded.
        #[test]
        fn running_sums_are_the_exact_sums_of_the_live_sizes(
            rows in prop::collection::vec(arb_wide_row(), 0..40),
        ) {
            let mut book = OrderBook::new();
            for (snapshot, bids, asks) in &rows {
                apply_row(&mut book, *snapshot, bids, asks);
                let exact = book.exact_size_sums();
                prop_assert_eq!(exact, exact_sums_afresh(&book));
                if let Some(exact) = exact {
                    let sums = book.top_sizes_sums(None);
                    prop_assert_eq!(sums.bids, exact.bids.to_f64());
                    prop_assert_eq!(sums.asks, exact.asks.to_f64());
                }
            }
        }

        /// The book agrees with a plain map model of SPEC 2.2.
        #[test]
        fn book_matches_a_map_model(rows in prop::collection::vec(arb_row(), 0..40)) {
            let mut book = OrderBook::new();
            let mut model = Model::default();
            for (snapshot, bids, asks) in &rows {
                apply_row(&mut book, *snapshot, bids, asks);
                apply_to_model(&mut model, *snapshot, bids, asks);
                let (model_bids, model_asks) = model_sides(&model);
                prop_assert_eq!(pairs(book.bids()), model_bids);
                prop_assert_eq!(pairs(book.asks()), model_asks);
            }
        }
    }
}
