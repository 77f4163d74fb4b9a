//! The built-in rules against hand-made bars: thresholds met exactly, the first N bars, stacks
//! of exactly K and K − 1 rows.

use super::*;
use crate::engine::Ohlc;

fn metric(ts: Millis, obi_close: f64, cvd_close: f64) -> MetricBar {
    MetricBar {
        ts,
        obi: Ohlc {
            open: 0.0,
            high: obi_close.max(0.0),
            low: obi_close.min(0.0),
            close: obi_close,
        },
        cvd: Ohlc {
            open: 0.0,
            high: cvd_close.max(0.0),
            low: cvd_close.min(0.0),
            close: cvd_close,
        },
    }
}

fn names(signals: &[Signal]) -> Vec<&str> {
    signals.iter().map(|signal| signal.name.as_str()).collect()
}

#[test]
fn obi_cross_needs_strictly_above_after_at_most() {
    let theta = 0.5;
    let cross = |before: f64, now: f64| {
        obi_cross(
            &metric(0, before, 0.0),
            &metric(60_000, now, 0.0),
            theta,
            Some(10.0),
        )
        .map(|signal| signal.name)
    };
    assert_eq!(cross(0.5, 0.5), None, "equal to θ is not above it");
    assert_eq!(
        cross(0.5, 0.5000001).as_deref(),
        Some("obi_cross_up"),
        "previous equal to θ"
    );
    assert_eq!(cross(0.6, 0.7), None, "already above");
    assert_eq!(cross(0.2, 0.9).as_deref(), Some("obi_cross_up"));
    assert_eq!(cross(-0.5, -0.5), None, "equal to −θ is not below it");
    assert_eq!(
        cross(-0.5, -0.51).as_deref(),
        Some("obi_cross_down"),
        "previous equal to −θ"
    );
    assert_eq!(cross(-0.6, -0.9), None, "already below");
    let signal = obi_cross(
        &metric(0, 0.0, 0.0),
        &metric(60_000, 0.75, 0.0),
        theta,
        None,
    )
    .unwrap();
    assert_eq!(
        (signal.ts, signal.value, signal.price),
        (60_000, Some(0.75), None)
    );
}

fn bar_with(ts: Millis, high: f64, low: f64, cvd: Option<f64>) -> BarWithMetrics {
    BarWithMetrics {
        bar: Bar {
            ts,
            open: low,
            high,
            low,
            close: high,
            volume: 1.0,
        },
        metrics: cvd.map(|cvd| metric(ts, 0.0, cvd)),
    }
}

#[test]
fn cvd_divergence_compares_with_the_previous_bars() {
    // Three previous bars (N = 3): highs 10, 11, 12; CVD closes 5, 7, 6.
    let previous = [
        bar_with(0, 10.0, 9.0, Some(5.0)),
        bar_with(60_000, 11.0, 9.5, Some(7.0)),
        bar_with(120_000, 12.0, 9.2, Some(6.0)),
    ];
    let with = |last: BarWithMetrics| {
        let mut bars = previous.to_vec();
        bars.push(last);
        cvd_divergence(&bars)
    };
    assert_eq!(
        names(&with(bar_with(180_000, 12.5, 10.0, Some(6.9)))),
        ["cvd_divergence_bear"]
    );
    assert!(
        with(bar_with(180_000, 12.0, 10.0, Some(6.9))).is_empty(),
        "a high equal to the highest is not above it"
    );
    assert!(
        with(bar_with(180_000, 12.5, 10.0, Some(7.0))).is_empty(),
        "a CVD equal to the largest is not below it"
    );
    assert_eq!(
        names(&with(bar_with(180_000, 11.0, 8.0, Some(5.5)))),
        ["cvd_divergence_bull"]
    );
    assert!(
        with(bar_with(180_000, 11.0, 9.0, Some(5.5))).is_empty(),
        "a low equal to the lowest"
    );
    assert!(
        with(bar_with(180_000, 12.5, 10.0, None)).is_empty(),
        "bar i without a metric bar"
    );
    let mut gap = previous.to_vec();
    gap[1].metrics = None;
    gap.push(bar_with(180_000, 12.5, 10.0, Some(6.9)));
    assert!(
        cvd_divergence(&gap).is_empty(),
        "a previous bar without a metric bar"
    );
    assert!(cvd_divergence(&previous[..1]).is_empty(), "no previous bar");
}

fn row(price: f64, buy: f64, sell: f64) -> PriceRow {
    PriceRow { price, buy, sell }
}

#[test]
fn stacks_need_k_imbalanced_rows_in_a_row() {
    let options = SignalOptions::default();
    // Rows 1..=3 are buy imbalances (buy[r] >= 3 × sell[r-1], the first exactly 3×): K = 3.
    let exactly_k = [
        row(100.0, 0.0, 1.0),
        row(101.0, 3.0, 1.0),
        row(102.0, 3.0, 1.0),
        row(103.0, 4.0, 0.0),
    ];
    let signals = stacked_imbalances(0, &exactly_k, &options);
    assert_eq!(names(&signals), ["stacked_imbalance_buy"]);
    assert_eq!(
        (signals[0].price, signals[0].value),
        (Some(101.0), Some(3.0))
    );
    // K − 1: the last row's buy is below 3 × the row below's sell.
    let k_minus_one = [
        row(100.0, 0.0, 1.0),
        row(101.0, 3.0, 1.0),
        row(102.0, 3.0, 1.0),
        row(103.0, 2.9, 0.0),
    ];
    assert!(stacked_imbalances(0, &k_minus_one, &options).is_empty());
    // A zero sell below never makes an imbalance.
    let zero_below = [
        row(100.0, 0.0, 0.0),
        row(101.0, 5.0, 1.0),
        row(102.0, 5.0, 1.0),
        row(103.0, 5.0, 1.0),
    ];
    assert!(stacked_imbalances(0, &zero_below, &options).is_empty());
    // Sell side: rows 0..=2 with sell[r] >= 3 × buy[r+1]; price = the highest row of the stack.
    let sells = [
        row(100.0, 0.0, 3.0),
        row(101.0, 1.0, 3.0),
        row(102.0, 1.0, 3.0),
        row(103.0, 1.0, 0.0),
    ];
    let signals = stacked_imbalances(0, &sells, &options);
    assert_eq!(names(&signals), ["stacked_imbalance_sell"]);
    assert_eq!(
        (signals[0].price, signals[0].value),
        (Some(102.0), Some(3.0))
    );
    let short = &sells[1..];
    assert!(
        stacked_imbalances(0, short, &options).is_empty(),
        "K − 1 sell rows"
    );
    // min_volume: an imbalanced row needs at least that volume.
    let strict = SignalOptions {
        imbalance_min_volume: 3.5,
        ..options
    };
    assert!(stacked_imbalances(0, &exactly_k, &strict).is_empty());
    // Two maximal stacks give two signals.
    let two = [
        row(1.0, 0.0, 1.0),
        row(2.0, 3.0, 1.0),
        row(3.0, 3.0, 1.0),
        row(4.0, 3.0, 5.0),
        row(5.0, 1.0, 1.0),
        row(6.0, 3.0, 1.0),
        row(7.0, 3.0, 1.0),
        row(8.0, 3.0, 1.0),
    ];
    let prices: Vec<_> = stacked_imbalances(0, &two, &options)
        .iter()
        .filter(|signal| signal.name == "stacked_imbalance_buy")
        .map(|signal| signal.price)
        .collect();
    assert_eq!(prices, [Some(2.0), Some(6.0)]);
}

#[test]
fn big_print_is_at_least_x() {
    let print = PrintView {
        ts: 1_500,
        side: Side::Sell,
        vwap: 100.5,
        size: 2.0,
        trades: 3,
    };
    let signal = big_print(&print, 2.0).unwrap();
    assert_eq!(
        (signal.ts, signal.price, signal.value),
        (1_500, Some(100.5), Some(2.0))
    );
    assert_eq!(
        signal.detail.as_deref(),
        Some("{\"side\":\"sell\",\"trades\":3}")
    );
    assert!(big_print(&print, 2.0000001).is_none());
}
