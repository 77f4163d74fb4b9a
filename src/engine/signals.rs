//! The built-in signals of SPEC 9.2, as pure functions of closed bars: OBI crosses, CVD
//! divergences, stacked imbalances in a footprint, and big prints.

use super::bars::Bar;
use super::event::{Millis, Side};
use super::metrics::MetricBar;

/// A rule that fired on a closed bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The bar's window start (for `big_print`, the print's own timestamp).
    pub ts: Millis,
    /// The rule's name: a built-in such as `obi_cross_up`, or a user rule's.
    pub name: String,
    pub price: Option<f64>,
    pub value: Option<f64>,
    /// More about the signal, as JSON text.
    pub detail: Option<String>,
}

/// The built-in rules' options (SPEC 9.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalOptions {
    /// θ of `obi_cross_up`/`obi_cross_down` (`--obi-threshold`).
    pub obi_threshold: f64,
    /// N of the CVD divergences (`--divergence-bars`), at least 1.
    pub divergence_bars: usize,
    /// A footprint row imbalanced when its side is at least `ratio` times the other side's
    /// diagonal neighbour.
    pub imbalance_ratio: f64,
    /// K: the fewest imbalanced rows in a row that make a stack.
    pub stack_rows: usize,
    /// The least volume of an imbalanced row.
    pub imbalance_min_volume: f64,
    /// `big_print`'s least size; `None`: off.
    pub big_print: Option<f64>,
}

impl Default for SignalOptions {
    fn default() -> Self {
        SignalOptions {
            obi_threshold: 0.5,
            divergence_bars: 20,
            imbalance_ratio: 3.0,
            stack_rows: 3,
            imbalance_min_volume: 0.0,
            big_print: None,
        }
    }
}

/// One row of a bar's footprint: the buy and sell volume traded at `price`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceRow {
    pub price: f64,
    pub buy: f64,
    pub sell: f64,
}

/// A print as the `big_print` rule sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintView {
    pub ts: Millis,
    pub side: Side,
    pub vwap: f64,
    pub size: f64,
    pub trades: u64,
}

/// `obi_cross_up` / `obi_cross_down` of metric bar `bar` after `previous`:
/// up when `obi_close > θ` and the previous `obi_close <= θ`; down when `obi_close < -θ` and the
/// previous `obi_close >= -θ`. `price` is the close of the bar's trades when it has any.
pub fn obi_cross(
    previous: &MetricBar,
    bar: &MetricBar,
    theta: f64,
    close: Option<f64>,
) -> Option<Signal> {
    let (before, now) = (previous.obi.close, bar.obi.close);
    let name = if now > theta && before <= theta {
        "obi_cross_up"
    } else if now < -theta && before >= -theta {
        "obi_cross_down"
    } else {
        return None;
    };
    Some(Signal {
        ts: bar.ts,
        name: name.to_owned(),
        price: close,
        value: Some(now),
        detail: Some(format!(
            "{{\"previous_obi_close\":{},\"threshold\":{}}}",
            json_number(before),
            json_number(theta)
        )),
    })
}

/// A bar with its metric bar, as the divergence rules see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarWithMetrics {
    pub bar: Bar,
    pub metrics: Option<MetricBar>,
}

/// `cvd_divergence_bear` / `_bull` of the last of `bars`, against the `N` bars before it
/// (`bars` holds exactly `N + 1`): bear when its high is above every previous high while its
/// `cvd_close` is below the largest previous `cvd_close`; bull the mirror with lows and the
/// smallest `cvd_close`. Every bar needs its metric bar, else no signal.
pub fn cvd_divergence(bars: &[BarWithMetrics]) -> Vec<Signal> {
    let Some((last, previous)) = bars.split_last() else {
        return Vec::new();
    };
    if previous.is_empty() {
        return Vec::new();
    }
    let Some(now) = last.metrics else {
        return Vec::new();
    };
    let mut highest = f64::NEG_INFINITY;
    let mut lowest = f64::INFINITY;
    let mut cvd_highest = f64::NEG_INFINITY;
    let mut cvd_lowest = f64::INFINITY;
    for bar in previous {
        let Some(metrics) = bar.metrics else {
            return Vec::new();
        };
        highest = highest.max(bar.bar.high);
        lowest = lowest.min(bar.bar.low);
        cvd_highest = cvd_highest.max(metrics.cvd.close);
        cvd_lowest = cvd_lowest.min(metrics.cvd.close);
    }
    let cvd = now.cvd.close;
    let mut signals = Vec::new();
    if last.bar.high > highest && cvd < cvd_highest {
        signals.push(Signal {
            ts: last.bar.ts,
            name: "cvd_divergence_bear".to_owned(),
            price: Some(last.bar.high),
            value: Some(cvd),
            detail: Some(format!(
                "{{\"previous_high\":{},\"previous_cvd_max\":{},\"bars\":{}}}",
                json_number(highest),
                json_number(cvd_highest),
                previous.len()
            )),
        });
    }
    if last.bar.low < lowest && cvd > cvd_lowest {
        signals.push(Signal {
            ts: last.bar.ts,
            name: "cvd_divergence_bull".to_owned(),
            price: Some(last.bar.low),
            value: Some(cvd),
            detail: Some(format!(
                "{{\"previous_low\":{},\"previous_cvd_min\":{},\"bars\":{}}}",
                json_number(lowest),
                json_number(cvd_lowest),
                previous.len()
            )),
        });
    }
    signals
}

/// `stacked_imbalance_buy` / `_sell` of the footprint `rows` (price ascending) of bar `ts`.
///
/// Row `r >= 1` is a buy imbalance when `sell[r-1] > 0`, `buy[r] >= ratio × sell[r-1]` and
/// `buy[r] >= min_volume`; row `r` (not the last) a sell imbalance when `buy[r+1] > 0`,
/// `sell[r] >= ratio × buy[r+1]` and `sell[r] >= min_volume`. One signal per maximal run of at
/// least K imbalanced rows: `price` its lowest row (buy) or highest row (sell), `value` the
/// number of rows.
pub fn stacked_imbalances(ts: Millis, rows: &[PriceRow], options: &SignalOptions) -> Vec<Signal> {
    let ratio = options.imbalance_ratio;
    let least = options.imbalance_min_volume;
    let buy: Vec<bool> = (0..rows.len())
        .map(|r| {
            r >= 1
                && rows[r - 1].sell > 0.0
                && rows[r].buy >= ratio * rows[r - 1].sell
                && rows[r].buy >= least
        })
        .collect();
    let sell: Vec<bool> = (0..rows.len())
        .map(|r| {
            r + 1 < rows.len()
                && rows[r + 1].buy > 0.0
                && rows[r].sell >= ratio * rows[r + 1].buy
                && rows[r].sell >= least
        })
        .collect();
    let mut signals = Vec::new();
    for (name, flags) in [
        ("stacked_imbalance_buy", &buy),
        ("stacked_imbalance_sell", &sell),
    ] {
        for (first, last) in runs(flags) {
            let length = last - first + 1;
            if length < options.stack_rows.max(1) {
                continue;
            }
            let price = if name == "stacked_imbalance_buy" {
                rows[first].price
            } else {
                rows[last].price
            };
            signals.push(Signal {
                ts,
                name: name.to_owned(),
                price: Some(price),
                value: Some(length as f64),
                detail: Some(format!(
                    "{{\"low\":{},\"high\":{},\"rows\":{length}}}",
                    json_number(rows[first].price),
                    json_number(rows[last].price)
                )),
            });
        }
    }
    signals
}

/// The maximal runs of `true` in `flags`, as (first, last) positions.
fn runs(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (index, &flag) in flags.iter().enumerate() {
        match (flag, start) {
            (true, None) => start = Some(index),
            (false, Some(first)) => {
                runs.push((first, index - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        runs.push((first, flags.len() - 1));
    }
    runs
}

/// `big_print`: a print of size at least `least`; `price` its vwap, `value` its size, `ts`
/// its own timestamp.
pub fn big_print(print: &PrintView, least: f64) -> Option<Signal> {
    if print.size < least {
        return None;
    }
    let side = match print.side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    };
    Some(Signal {
        ts: print.ts,
        name: "big_print".to_owned(),
        price: Some(print.vwap),
        value: Some(print.size),
        detail: Some(format!(
            "{{\"side\":\"{side}\",\"trades\":{}}}",
            print.trades
        )),
    })
}

/// `x` as a JSON number: the shortest text that reads back as `x` (a non-finite value, which
/// no rule produces from valid data, as null).
fn json_number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        "null".to_owned()
    }
}

#[cfg(test)]
mod tests;
