//! `orderflow signals`: the signals of a store computed again on its stored bars, after a
//! change of rules or options (SPEC 9.2).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use orderflow::store::{Batch, Series, Store};
use orderflow::strategy::evaluate;
use orderflow::time::{Bound, parse_bound};

use super::print::say;
use super::store_args::SignalArgs;

#[derive(Debug, Args)]
pub(crate) struct SignalsArgs {
    /// The store (written by `process --store` or `run --store`).
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
    /// Only this instrument (default: every instrument in the store).
    #[arg(long)]
    instrument: Option<String>,
    /// Only this bar window, in seconds (default: every window in the store).
    #[arg(long)]
    window_seconds: Option<u32>,
    /// Only bars from this time on (UTC date or RFC 3339 time).
    #[arg(long)]
    from: Option<String>,
    /// Only bars before this time (a date: included whole).
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    signals: SignalArgs,
}

/// Deletes the signals of the chosen series and range, computes them again, and says how
/// many each rule found.
pub(crate) fn signals(args: SignalsArgs) -> anyhow::Result<u8> {
    if !args.store.is_file() {
        bail!(
            "the store {} does not exist: make one with `orderflow process ... --store FILE`",
            args.store.display()
        );
    }
    let path = orderflow::store::file::check(&args.store)?;
    let from = args
        .from
        .as_deref()
        .map(|text| parse_bound(text, Bound::Start))
        .transpose()
        .context("--from")?;
    let to = args
        .to
        .as_deref()
        .map(|text| parse_bound(text, Bound::End))
        .transpose()
        .context("--to")?;
    let (from, to) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    let mut store = Store::open(&path)?;
    let strategy = args.signals.strategy(&store)?;
    let chosen: Vec<Series> = store
        .series()?
        .into_iter()
        .filter(|series| {
            args.instrument
                .as_ref()
                .is_none_or(|wanted| wanted.eq_ignore_ascii_case(&series.instrument))
        })
        .filter(|series| {
            args.window_seconds
                .is_none_or(|w| i64::from(w) == series.window_s)
        })
        .collect();
    if chosen.is_empty() {
        bail!(
            "the store {} holds no bars of that instrument and window",
            args.store.display()
        );
    }
    for series in &chosen {
        let signals = evaluate(&store, series, &strategy, from, to)?;
        store.clear_signals(series, from, to)?;
        let mut counts = std::collections::BTreeMap::<&str, u64>::new();
        for signal in &signals {
            *counts.entry(signal.name.as_str()).or_default() += 1;
        }
        let counts: Vec<String> = counts
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        say!(
            "{} {} s: {} signals{}{}",
            series.instrument,
            series.window_s,
            signals.len(),
            if counts.is_empty() { "" } else { ": " },
            counts.join(", ")
        );
        store.write(
            series,
            &Batch {
                signals,
                ..Batch::default()
            },
        )?;
    }
    Ok(0)
}
