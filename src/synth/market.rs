//! The synthetic market: a mid price on a tick grid, an order book around it and taker trades.
//!
//! Pure and deterministic: every random choice comes from one seeded ChaCha8 generator, in a
//! fixed order, and the book is kept in `BTreeMap`s so nothing depends on hash order.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::{Millis, Side};

/// Milliseconds in a day: the volatility is quoted per day.
const DAY_MS: f64 = 86_400_000.0;
/// Correlation time of the volatility regime.
const VOL_TAU_MS: f64 = 20.0 * 60_000.0;
/// Standard deviation of the log-volatility: regimes from about a third to three times the mean.
const VOL_SPREAD: f64 = 0.55;
/// Probability that the fair price moves in one book interval (it jumps; most intervals it
/// stays, as a real mid does).
const MOVE_PROBABILITY: f64 = 0.45;
/// Hawkes self-excitation of taker orders: the share of orders triggered by earlier ones.
const BRANCHING: f64 = 0.7;
/// Decay time of that excitation: bursts last a few seconds.
const EXCITATION_TAU_MS: f64 = 2_000.0;
/// Correlation time of the buy/sell imbalance of the flow.
const BIAS_TAU_MS: f64 = 30_000.0;
/// How far a fair-price jump leans with the taker bias, in standard deviations per unit bias.
const FLOW_DRIFT: f64 = 0.3;
/// Probability that a taker order takes the side of the previous one (runs within bursts).
const HERDING: f64 = 0.65;
/// Mean number of fills (trade rows) per taker order, used to turn trades into orders.
const MEAN_FILLS: f64 = 1.3;
/// Book changes per interval besides the moves of the top, at mean volatility.
const MEAN_CHANGES: f64 = 7.0;
/// Mean depth index (0 = best level) of a random book change: activity is near the top.
const MEAN_CHANGE_DEPTH: f64 = 10.0;
/// Typical notional of a resting level near the top and deep in the book, in quote currency.
const TOP_LEVEL_NOTIONAL: f64 = 10_000.0;
const DEEP_LEVEL_NOTIONAL: f64 = 40_000.0;
/// Scale of the Pareto law of taker order sizes (quote currency) and its tail exponent.
const TAKER_NOTIONAL: f64 = 50.0;
const TAKER_TAIL: f64 = 1.25;

/// The shape of the market, in integer units (derived from a validated `SynthConfig`).
#[derive(Debug, Clone)]
pub(crate) struct MarketParams {
    /// Price of the first mid, in ticks.
    pub start_ticks: i64,
    /// Price of one tick in quote currency (for notional-based sizes).
    pub tick_size: f64,
    /// Size units per one unit of base currency (10^size decimals).
    pub size_scale: f64,
    /// Levels per side of the book.
    pub levels: usize,
    pub interval_ms: Millis,
    /// Trade rows per minute on average.
    pub trades_per_minute: f64,
    /// Daily volatility of the mid, as a fraction (0.02 = 2 %).
    pub daily_vol: f64,
}

/// One resting level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Level {
    /// Size in size units (10^-size_decimals of the base currency).
    pub size: u64,
    /// Number of orders resting at this price (OKX's fourth field).
    pub orders: u32,
}

/// One trade row: a fill of a taker order against the best level of the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fill {
    pub ts: Millis,
    pub trade_id: u64,
    /// Price in ticks: the best ask for a buy, the best bid for a sell.
    pub price: i64,
    /// Size in size units, > 0.
    pub size: u64,
    pub side: Side,
}

/// Which book side a level belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BookSide {
    Bid,
    Ask,
}

/// One side of the book: price in ticks → level. Bids are best at the highest key, asks at the
/// lowest; a `BTreeMap` keeps both the order and the cheap insert/delete anywhere, and the
/// hundreds of levels per side make its log factor negligible.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ladder {
    pub levels: BTreeMap<i64, Level>,
    /// Prices changed since the last book row was written.
    pub touched: BTreeSet<i64>,
}

impl Ladder {
    fn set(&mut self, price: i64, level: Level) {
        self.levels.insert(price, level);
        self.touched.insert(price);
    }

    fn remove(&mut self, price: i64) {
        if self.levels.remove(&price).is_some() {
            self.touched.insert(price);
        }
    }
}

/// The state of the synthetic market.
#[derive(Debug, Clone)]
pub(crate) struct Market {
    params: MarketParams,
    rng: ChaCha8Rng,
    pub bids: Ladder,
    pub asks: Ladder,
    /// Fair price in ticks; the top of the book follows it.
    fair: f64,
    /// Log of the volatility factor (an Ornstein–Uhlenbeck process around 0).
    log_vol: f64,
    /// Self-excited part of the taker order intensity, per ms.
    excitation: f64,
    /// Imbalance of the flow in (-1, 1): > 0 means more buyers.
    bias: f64,
    last_side: Side,
    next_trade_id: u64,
}

impl Market {
    /// A market at `params.start_ticks` with a full book of `params.levels` levels a side.
    pub fn new(params: MarketParams, seed: u64) -> Self {
        let mut market = Market {
            fair: params.start_ticks as f64,
            params,
            rng: ChaCha8Rng::seed_from_u64(seed),
            bids: Ladder::default(),
            asks: Ladder::default(),
            log_vol: 0.0,
            excitation: 0.0,
            bias: 0.0,
            last_side: Side::Buy,
            next_trade_id: 0,
        };
        market.next_trade_id = 300_000_000 + market.rng.random_range(0..100_000_000);
        market.recenter();
        market.fill_depth(BookSide::Bid);
        market.fill_depth(BookSide::Ask);
        market
    }

    pub fn best_bid(&self) -> Option<i64> {
        self.bids.levels.keys().next_back().copied()
    }

    pub fn best_ask(&self) -> Option<i64> {
        self.asks.levels.keys().next().copied()
    }

    /// Levels of a side best first.
    pub fn side_best_first(&self, side: BookSide) -> Box<dyn Iterator<Item = (i64, Level)> + '_> {
        match side {
            BookSide::Bid => Box::new(self.bids.levels.iter().rev().map(|(p, l)| (*p, *l))),
            BookSide::Ask => Box::new(self.asks.levels.iter().map(|(p, l)| (*p, *l))),
        }
    }

    /// Forgets the changes recorded so far (after a snapshot was written).
    pub fn clear_touched(&mut self) {
        self.bids.touched.clear();
        self.asks.touched.clear();
    }

    /// Moves the market on by one book interval: volatility, fair price, top of the book,
    /// random changes near the top, and the depth kept at `levels` a side.
    pub fn step(&mut self) {
        let dt = self.params.interval_ms as f64;
        let a = (-dt / VOL_TAU_MS).exp();
        self.log_vol = a * self.log_vol + VOL_SPREAD * (1.0 - a * a).sqrt() * self.normal();
        let vol = self.vol();

        // A jump of the fair price, with the variance that gives the daily volatility.
        if self.rng.random::<f64>() < MOVE_PROBABILITY {
            let per_interval = self.params.daily_vol * (dt / DAY_MS).sqrt();
            let sigma = self.fair * per_interval * vol / MOVE_PROBABILITY.sqrt();
            // Leaning with the taker flow: prices rise while buyers dominate, as on a real
            // tape, so price and CVD move together.
            self.fair += sigma * (self.normal() + FLOW_DRIFT * self.bias);
        }
        // Keep the price well above zero whatever the seed.
        let floor = (self.params.levels as f64) * 8.0 + 100.0;
        if self.fair < floor {
            self.fair = 2.0 * floor - self.fair;
        }

        self.recenter();
        let changes = self.poisson(MEAN_CHANGES * vol.sqrt());
        for _ in 0..changes {
            self.random_change();
        }
        self.fill_depth(BookSide::Bid);
        self.fill_depth(BookSide::Ask);
    }

    /// Taker trades in `[from, until)` against the book as it stands (the book row at `from`),
    /// appended to `out` in time order. Each fill takes size from the best level of the other
    /// side; an emptied level is removed (the next update shows it), and a side whose best
    /// level is used up takes no more trades until the next book row.
    pub fn trades(&mut self, from: Millis, until: Millis, out: &mut Vec<Fill>) {
        let span = until - from;
        if span <= 0 {
            return;
        }
        let dt = span as f64;
        let vol = self.vol();
        let orders_per_ms = self.params.trades_per_minute / MEAN_FILLS / 60_000.0;
        let base = orders_per_ms * (1.0 - BRANCHING) * vol;
        let count = self.poisson((base + self.excitation) * dt);
        let decay = (-dt / EXCITATION_TAU_MS).exp();
        let per_order = BRANCHING * (1.0 - (-dt / EXCITATION_TAU_MS).exp()) / dt;
        self.excitation = self.excitation * decay + count as f64 * per_order;
        let b = (-dt / BIAS_TAU_MS).exp();
        self.bias = (b * self.bias + 0.5 * (1.0 - b * b).sqrt() * self.normal()).clamp(-0.9, 0.9);

        let mut times: Vec<Millis> = (0..count)
            .map(|_| from + self.rng.random_range(0..span))
            .collect();
        times.sort_unstable();
        let mut exhausted_buy = false;
        let mut exhausted_sell = false;
        for ts in times {
            let side = if self.rng.random::<f64>() < HERDING {
                self.last_side
            } else if self.rng.random::<f64>() < (1.0 + self.bias) / 2.0 {
                Side::Buy
            } else {
                Side::Sell
            };
            self.last_side = side;
            let exhausted = match side {
                Side::Buy => &mut exhausted_buy,
                Side::Sell => &mut exhausted_sell,
            };
            if *exhausted {
                continue;
            }
            if self.take(ts, side, out) {
                *exhausted = true;
            }
        }
    }

    /// One taker order of `side` at `ts`: fills against the best level of the other side.
    /// Returns whether that level was used up.
    fn take(&mut self, ts: Millis, side: Side, out: &mut Vec<Fill>) -> bool {
        let best = match side {
            Side::Buy => self.best_ask(),
            Side::Sell => self.best_bid(),
        };
        let Some(price) = best else {
            return true;
        };
        let ladder = match side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        let level = ladder.levels[&price];

        // Heavy-tailed (Pareto) order size, cut at what the best level holds.
        let u = 1.0 - self.rng.random::<f64>();
        let notional = TAKER_NOTIONAL * u.powf(-1.0 / TAKER_TAIL);
        let wanted = self.notional_to_units(notional);
        let total = wanted.min(level.size);

        // The order fills against some of the resting orders: one trade row each.
        let mut fills = 1u64;
        while fills < u64::from(level.orders) && self.rng.random::<f64>() < 0.4 {
            fills += 1;
        }
        let fills = fills.min(total);
        let mut weights = [0.0f64; 16];
        let fills = fills.min(weights.len() as u64);
        for w in weights.iter_mut().take(fills as usize) {
            *w = -(1.0 - self.rng.random::<f64>()).ln() + 1e-9;
        }
        let weight_sum: f64 = weights.iter().take(fills as usize).sum();
        let spare = total - fills;
        let mut given = 0u64;
        for (i, w) in weights.iter().take(fills as usize).enumerate() {
            let extra = if i as u64 + 1 == fills {
                spare - given
            } else {
                ((spare as f64 * w / weight_sum) as u64).min(spare - given)
            };
            given += extra;
            out.push(Fill {
                ts,
                trade_id: self.next_trade_id,
                price,
                size: 1 + extra,
                side,
            });
            self.next_trade_id += 1;
        }

        let ladder = match side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        let used_up = total >= level.size;
        if used_up {
            ladder.remove(price);
        } else {
            let orders = level.orders.saturating_sub(fills as u32 - 1).max(1);
            ladder.set(
                price,
                Level {
                    size: level.size - total,
                    orders,
                },
            );
        }

        // Aggressive flow pushes the fair price its way.
        let impact = 0.3 * (notional / (TAKER_NOTIONAL * 10.0)).sqrt().min(3.0);
        self.fair += match side {
            Side::Buy => impact,
            Side::Sell => -impact,
        };
        used_up
    }

    /// Puts the top of the book around the fair price: the best bid and ask at the chosen
    /// spread (at least one tick), levels that would cross removed, new levels in the gap the
    /// move opened.
    fn recenter(&mut self) {
        let vol = self.vol();
        let mut spread = 1i64;
        while spread < 8 && self.rng.random::<f64>() < (0.12 * vol).min(0.6) {
            spread += 1;
        }
        let best_bid = (self.fair - spread as f64 / 2.0).round() as i64;
        let best_ask = best_bid + spread;

        let crossing_bids: Vec<i64> = self
            .bids
            .levels
            .range(best_bid + 1..)
            .map(|(p, _)| *p)
            .collect();
        for price in crossing_bids {
            self.bids.remove(price);
        }
        let crossing_asks: Vec<i64> = self
            .asks
            .levels
            .range(..best_ask)
            .map(|(p, _)| *p)
            .collect();
        for price in crossing_asks {
            self.asks.remove(price);
        }

        // Fill the gap between the new best and the old one, densely near the top; a gap wider
        // than the book is filled only as deep as the book goes (`fill_depth` does the rest).
        let reach = self.params.levels as i64;
        let old_bid = self
            .best_bid()
            .unwrap_or(best_bid - 1)
            .max(best_bid - reach);
        let mut price = best_bid;
        while price > old_bid {
            if price == best_bid || self.rng.random::<f64>() < 0.45 {
                let level = self.new_level(0);
                self.bids.set(price, level);
            }
            price -= 1;
        }
        let old_ask = self
            .best_ask()
            .unwrap_or(best_ask + 1)
            .min(best_ask + reach);
        let mut price = best_ask;
        while price < old_ask {
            if price == best_ask || self.rng.random::<f64>() < 0.45 {
                let level = self.new_level(0);
                self.asks.set(price, level);
            }
            price += 1;
        }
    }

    /// One change of a level near the top: its size changes, it is cancelled, or a new level
    /// appears next to it.
    fn random_change(&mut self) {
        let side = if self.rng.random::<bool>() {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        let len = self.ladder(side).levels.len();
        if len == 0 {
            return;
        }
        let depth = (self.geometric(MEAN_CHANGE_DEPTH) as usize).min(len - 1);
        let Some((price, level)) = self.side_best_first(side).nth(depth) else {
            return;
        };
        let roll = self.rng.random::<f64>();
        if roll < 0.55 {
            // A resting order added or partly cancelled.
            let factor = (0.6 * self.normal()).exp();
            let size = ((level.size as f64 * factor) as u64).max(self.min_units());
            let orders = (level.orders as i64 + self.rng.random_range(-1..=1)).max(1) as u32;
            self.ladder_mut(side).set(price, Level { size, orders });
        } else if roll < 0.75 {
            // The whole level cancelled; the best level stays (the spread is set by recenter).
            if depth > 0 {
                self.ladder_mut(side).remove(price);
            }
        } else {
            // A new order at a free price behind this level.
            let offset = 1 + self.geometric(1.5) as i64;
            let new_price = match side {
                BookSide::Bid => price - offset,
                BookSide::Ask => price + offset,
            };
            if new_price > 0 && !self.ladder(side).levels.contains_key(&new_price) {
                let level = self.new_level(depth + 1);
                self.ladder_mut(side).set(new_price, level);
            }
        }
    }

    /// Keeps exactly `levels` levels on a side: the farthest go (out of the book's depth), or
    /// new levels appear behind the last one.
    fn fill_depth(&mut self, side: BookSide) {
        let target = self.params.levels;
        while self.ladder(side).levels.len() > target {
            let far = match side {
                BookSide::Bid => self.bids.levels.keys().next().copied(),
                BookSide::Ask => self.asks.levels.keys().next_back().copied(),
            };
            if let Some(price) = far {
                self.ladder_mut(side).remove(price);
            }
        }
        while self.ladder(side).levels.len() < target {
            let depth = self.ladder(side).levels.len();
            let far = match side {
                BookSide::Bid => self.bids.levels.keys().next().copied(),
                BookSide::Ask => self.asks.levels.keys().next_back().copied(),
            };
            let mean_gap = 0.6 + 2.4 * (depth as f64 / 100.0).min(1.0);
            let gap = 1 + self.geometric(mean_gap) as i64;
            let price = match (side, far) {
                (BookSide::Bid, Some(p)) => p - gap,
                (BookSide::Ask, Some(p)) => p + gap,
                (BookSide::Bid, None) => self.fair.floor() as i64 - 1,
                (BookSide::Ask, None) => self.fair.floor() as i64 + 1,
            };
            if price <= 0 {
                break;
            }
            let level = self.new_level(depth);
            self.ladder_mut(side).set(price, level);
        }
    }

    /// A fresh level at `depth` (0 = best): lognormal size growing with depth, sometimes a wall.
    fn new_level(&mut self, depth: usize) -> Level {
        let t = (depth as f64 / 150.0).min(1.0);
        let mut notional = (TOP_LEVEL_NOTIONAL + (DEEP_LEVEL_NOTIONAL - TOP_LEVEL_NOTIONAL) * t)
            * (1.0 * self.normal() - 0.5).exp();
        if self.rng.random::<f64>() < 0.02 {
            notional *= 20.0;
        }
        let size = self.notional_to_units(notional);
        let orders = 1 + self.poisson((notional / 6_000.0).min(40.0)) as u32;
        Level { size, orders }
    }

    fn ladder(&self, side: BookSide) -> &Ladder {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: BookSide) -> &mut Ladder {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    /// Volatility factor of the current regime, mean 1.
    fn vol(&self) -> f64 {
        (self.log_vol - VOL_SPREAD * VOL_SPREAD / 2.0).exp()
    }

    /// Size units worth `notional` in quote currency at the current price, at least the lot.
    fn notional_to_units(&self, notional: f64) -> u64 {
        let price = self.fair.max(1.0) * self.params.tick_size;
        let units = (notional / price * self.params.size_scale).round();
        (units as u64).max(self.min_units())
    }

    /// The smallest size: 0.00001 of the base currency, or one unit with fewer decimals.
    fn min_units(&self) -> u64 {
        ((self.params.size_scale / 100_000.0) as u64).max(1)
    }

    /// A standard normal draw (Box–Muller; one of the pair is enough here).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A Poisson draw: Knuth's product of uniforms for small means, a rounded normal for large.
    fn poisson(&mut self, mean: f64) -> u64 {
        if mean.is_nan() || mean <= 0.0 {
            return 0;
        }
        if mean > 40.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let mut product = self.rng.random::<f64>();
        let mut count = 0;
        while product > limit {
            product *= self.rng.random::<f64>();
            count += 1;
        }
        count
    }

    /// A geometric draw on {0, 1, ...} with the given mean.
    fn geometric(&mut self, mean: f64) -> u64 {
        let p = 1.0 / (1.0 + mean);
        let u = 1.0 - self.rng.random::<f64>();
        (u.ln() / (1.0 - p).ln()).floor().min(1e6) as u64
    }
}
