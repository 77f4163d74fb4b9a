//! OBI and CVD (SPEC 2.4). API CONTRACT: types are fixed; functions filled in by the engine work.

use super::Millis;

/// Open, high, low, close of a sampled series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ohlc {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// One metric bar: the OHLC of the OBI and CVD samples of a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricBar {
    pub ts: Millis,
    pub obi: Ohlc,
    pub cvd: Ohlc,
}
