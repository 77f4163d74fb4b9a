//! Signals of the closed bars of a range, computed on the stored bars (SPEC 9.2): the
//! built-in rules of `engine::signals` over rows read through the repository, then each user
//! rule's query.

use std::collections::HashMap;

use crate::engine::signals::{
    BarWithMetrics, PriceRow, PrintView, big_print, cvd_divergence, obi_cross, stacked_imbalances,
};
use crate::engine::{Millis, Signal, SignalOptions};
use crate::store::records::{FootprintRecord, Series};
use crate::store::repository::{Store, StoreError};

use super::rules::Rule;

/// What signals a run computes: the built-ins' options and the user rules.
#[derive(Debug, Clone, Default)]
pub struct Strategy {
    pub options: SignalOptions,
    pub rules: Vec<Rule>,
}

/// Signals that could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rule `{name}` failed: {message}")]
    Rule { name: String, message: String },
}

/// The signals of the stored bars of `series` with `ts` in `[from, to)`, all of them closed;
/// "previous" bars are the stored bars before them, whatever run wrote them. In `ts` order,
/// the built-ins first within a bar, then the user rules in the order of their file.
///
/// # Errors
/// [`EvaluateError`] when the store cannot be read or a user rule fails.
pub fn evaluate(
    store: &Store,
    series: &Series,
    strategy: &Strategy,
    from: Millis,
    to: Millis,
) -> Result<Vec<Signal>, EvaluateError> {
    evaluate_with(store, series, strategy, from, to, None)
}

/// [`evaluate`], with the footprint rows of the bars in `[from, to)` (a list per bar, each by
/// price, the bars by `ts`) given rather than read from the store: a store that keeps no footprint (the signals' store
/// of a run without user rules).
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_with(
    store: &Store,
    series: &Series,
    strategy: &Strategy,
    from: Millis,
    to: Millis,
    footprint: Option<&[&[FootprintRecord]]>,
) -> Result<Vec<Signal>, EvaluateError> {
    let options = &strategy.options;
    let mut signals = Vec::new();

    // OBI crosses: each metric bar after the one stored before it.
    let metric_bars = store.metric_bars(series, from, to)?;
    let bars = store.bars(series, from, to)?;
    let closes: HashMap<Millis, f64> = bars.iter().map(|bar| (bar.bar.ts, bar.bar.close)).collect();
    let mut previous = store.metric_bar_before(series, from)?;
    for bar in &metric_bars {
        if let Some(before) = &previous {
            signals.extend(obi_cross(
                before,
                bar,
                options.obi_threshold,
                closes.get(&bar.ts).copied(),
            ));
        }
        previous = Some(*bar);
    }

    // CVD divergences: each bar against the N stored bars before it.
    let n = options.divergence_bars.max(1);
    let mut window = store.bars_before(series, from, n)?;
    let first_ts = window
        .first()
        .or(bars.first())
        .map_or(from, |bar| bar.bar.ts);
    let metrics: HashMap<Millis, _> = store
        .metric_bars(series, first_ts, to)?
        .into_iter()
        .map(|bar| (bar.ts, bar))
        .collect();
    let with_metrics = |bar: &crate::store::records::BarRecord| BarWithMetrics {
        bar: bar.bar,
        metrics: metrics.get(&bar.bar.ts).copied(),
    };
    let mut run: Vec<BarWithMetrics> = window.drain(..).map(|bar| with_metrics(&bar)).collect();
    for bar in &bars {
        run.push(with_metrics(bar));
        if run.len() > n + 1 {
            run.remove(0);
        }
        if run.len() == n + 1 {
            signals.extend(cvd_divergence(&run));
        }
    }

    // Stacked imbalances: each bar's footprint.
    let stored;
    let footprint: Vec<&[FootprintRecord]> = match footprint {
        Some(bars) => bars.to_vec(),
        None => {
            stored = store.footprint(series, from, to)?;
            stored.chunk_by(|a, b| a.ts == b.ts).collect()
        }
    };
    for rows in footprint.into_iter().filter(|rows| !rows.is_empty()) {
        let prices: Vec<PriceRow> = rows
            .iter()
            .map(|row| PriceRow {
                price: row.price,
                buy: row.buy,
                sell: row.sell,
            })
            .collect();
        signals.extend(stacked_imbalances(rows[0].ts, &prices, options));
    }

    // Big prints.
    if let Some(least) = options.big_print {
        for print in store.prints(series, from, to)? {
            let view = PrintView {
                ts: print.ts,
                side: print.side,
                vwap: print.vwap,
                size: print.size,
                trades: print.trades,
            };
            signals.extend(big_print(&view, least));
        }
    }

    for rule in &strategy.rules {
        let found = store
            .run_rule(&rule.name, &rule.sql, series, from, to)
            .map_err(|error| EvaluateError::Rule {
                name: rule.name.clone(),
                message: error.to_string(),
            })?;
        signals.extend(found);
    }
    // Stable: within a bar the order above stays.
    signals.sort_by_key(|signal| signal.ts);
    Ok(signals)
}
