//! The store's and the signals' options (SPEC 9.1, 9.2) of `process` and `run`, and the
//! store output they make, checked before any work.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Args;
use orderflow::engine::SignalOptions;
use orderflow::output::Output;
use orderflow::output::live::LiveFeed;
use orderflow::replay::Job;
use orderflow::store::{RunRecord, Series, SignalSinks, Store, StoreOutput};
use orderflow::strategy::{OnSignal, Strategy, rules};

/// The built-in signals' options and the user rules (SPEC 9.2).
#[derive(Debug, Clone, Args)]
pub(crate) struct SignalArgs {
    /// θ of obi_cross_up / obi_cross_down: OBI close above θ (below −θ) after at most θ.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) obi_threshold: f64,
    /// N of cvd_divergence_bear / _bull: bars compared with the N bars before them.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) divergence_bars: u32,
    /// stacked_imbalance_*: a footprint row is imbalanced when its side is at least this many
    /// times the other side one row away.
    #[arg(long, default_value_t = 3.0)]
    pub(crate) imbalance_ratio: f64,
    /// stacked_imbalance_*: the fewest imbalanced rows in a row that make a stack (K).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) stack_rows: u32,
    /// stacked_imbalance_*: the least volume of an imbalanced row.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) imbalance_min_volume: f64,
    /// big_print: a print (one taker order) of at least this size; off unless given.
    #[arg(long, value_name = "X")]
    pub(crate) big_print: Option<f64>,
    /// User rules: a file of named SQL queries over the store (see the README).
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
}

impl SignalArgs {
    /// The built-ins' options, checked.
    pub(crate) fn options(&self) -> anyhow::Result<SignalOptions> {
        let finite = |name: &str, x: f64| {
            if x.is_finite() && x >= 0.0 {
                Ok(x)
            } else {
                bail!("--{name} {x} is not a number >= 0")
            }
        };
        Ok(SignalOptions {
            obi_threshold: finite("obi-threshold", self.obi_threshold)?,
            divergence_bars: self.divergence_bars as usize,
            imbalance_ratio: finite("imbalance-ratio", self.imbalance_ratio)?,
            stack_rows: self.stack_rows as usize,
            imbalance_min_volume: finite("imbalance-min-volume", self.imbalance_min_volume)?,
            big_print: self.big_print.map(|x| finite("big-print", x)).transpose()?,
        })
    }

    /// The strategy: options and the user rules, each checked by SQLite against `store`.
    pub(crate) fn strategy(&self, store: &Store) -> anyhow::Result<Strategy> {
        let rules = match &self.rules {
            Some(path) => rules::load(path, store)?,
            None => Vec::new(),
        };
        Ok(Strategy {
            options: self.options()?,
            rules,
        })
    }

    /// The options as the `runs` row records them.
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "obi_threshold": self.obi_threshold,
            "divergence_bars": self.divergence_bars,
            "imbalance_ratio": self.imbalance_ratio,
            "stack_rows": self.stack_rows,
            "imbalance_min_volume": self.imbalance_min_volume,
            "big_print": self.big_print,
            "rules": self.rules.as_ref().map(|path| path.display().to_string()),
        })
    }
}

/// `--store` and the signals of `process` and `run`.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// SQLite store of bars, metrics, footprints, prints, signals and runs (made when missing).
    #[arg(long, value_name = "FILE")]
    pub(crate) store: Option<PathBuf>,
    /// Run CMD (with `sh -c`) for each new signal, which it reads as one JSON line on stdin.
    #[arg(long, value_name = "CMD")]
    pub(crate) on_signal: Option<String>,
    #[command(flatten)]
    pub(crate) signals: SignalArgs,
}

impl StoreArgs {
    /// The store output of a run, or none: a store is written with `--store`; signals are
    /// computed in a store in memory without it when `live` (the page shows them) or when
    /// `--on-signal` or `--rules` asks for them. Everything is checked before any work: a
    /// `--store` that is a recording of the run or not a store of orderflow's is refused.
    pub(crate) fn output(
        &self,
        job: &Job,
        live: Option<&LiveFeed>,
        cancel: &Arc<AtomicBool>,
    ) -> anyhow::Result<Option<Box<dyn Output>>> {
        let wanted = self.store.is_some()
            || live.is_some()
            || self.on_signal.is_some()
            || self.signals.rules.is_some();
        if !wanted {
            return Ok(None);
        }
        let path = match &self.store {
            Some(path) => {
                refuse_recording(path, job)?;
                Some(orderflow::store::file::check(path)?)
            }
            None => None,
        };
        let series = Series {
            instrument: job.instrument.clone(),
            window_s: job.config.window_ms / 1000,
        };
        let run = RunRecord {
            series,
            range_start: job.config.start,
            range_end: job.config.end,
            options: serde_json::json!({
                "data_dir": job.data_dir.display().to_string(),
                "depth_levels": job.config.depth_levels,
                "obi_levels": job.config.obi_levels,
                "signals": self.signals.to_json(),
                "on_signal": self.on_signal,
            })
            .to_string(),
        };
        // The rules are checked against the store's own tables before anything is written.
        let strategy = self.signals.strategy(&Store::in_memory()?)?;
        let sinks = SignalSinks {
            board: live.map(|feed| feed.signals().clone()),
            on_signal: self.on_signal.as_deref().map(OnSignal::start),
        };
        let output = match path {
            Some(path) => StoreOutput::create(path.clone(), run, strategy, sinks, cancel.clone())
                .with_context(|| format!("opening the store {}", path.display()))?,
            None => StoreOutput::in_memory(run, strategy, sinks, cancel.clone())?,
        };
        Ok(Some(Box::new(output)))
    }
}

/// Refuses a `--store` that is one of the recordings the run would read (compared by their
/// real paths).
fn refuse_recording(path: &Path, job: &Job) -> anyhow::Result<()> {
    let Ok(candidates) = orderflow::source::find_candidates(&job.data_dir, &job.instrument) else {
        return Ok(());
    };
    let Ok(store) = std::fs::canonicalize(path) else {
        return Ok(());
    };
    for candidate in candidates {
        if std::fs::canonicalize(&candidate).is_ok_and(|real| real == store) {
            bail!(
                "refusing to use {} as the store: it is one of the recordings of {} in {}; give \
                 --store a file of its own, outside the data folder",
                path.display(),
                job.instrument,
                job.data_dir.display()
            );
        }
    }
    Ok(())
}
