//! The store's rows as typed values: what the repository writes and reads back (SPEC 9.1).

use crate::engine::{Bar, MetricBar, Millis, Side};

/// The rows of one instrument at one bar window: the key every table but `runs` starts with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Series {
    pub instrument: String,
    /// The bar window in whole seconds (`--window-seconds`).
    pub window_s: i64,
}

/// A bar with its extras (SPEC 6.1), as the `bars` table holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarRecord {
    pub bar: Bar,
    pub buy_volume: f64,
    pub sell_volume: f64,
    pub trades: u64,
}

/// One row of a bar's footprint (SPEC 6.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FootprintRecord {
    pub ts: Millis,
    pub price: f64,
    pub buy: f64,
    pub sell: f64,
}

/// One print (SPEC 6.3), kept so that `big_print` can be computed again on stored data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintRecord {
    /// The print's number in its run, in event order: a print still growing is written again
    /// under the same number.
    pub seq: u64,
    pub ts: Millis,
    pub side: Side,
    pub vwap: f64,
    pub size: f64,
    pub trades: u64,
}

/// One signal (SPEC 9.2): a rule that fired on a closed bar.
pub use crate::engine::Signal as SignalRecord;

/// What one write adds to the store, in one transaction: rows replace the rows of their key.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub bars: Vec<BarRecord>,
    pub metric_bars: Vec<MetricBar>,
    /// Whole footprints: every row of each bar listed here replaces that bar's rows.
    pub footprints: Vec<(Millis, Vec<FootprintRecord>)>,
    pub prints: Vec<PrintRecord>,
    pub signals: Vec<SignalRecord>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.bars.is_empty()
            && self.metric_bars.is_empty()
            && self.footprints.is_empty()
            && self.prints.is_empty()
            && self.signals.is_empty()
    }
}

/// A run as its `runs` row describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub series: Series,
    pub range_start: Millis,
    pub range_end: Millis,
    /// The run's options, as JSON text.
    pub options: String,
}

/// How a run ended, as `runs.status` says it. A run that was killed leaves
/// [`RunStatus::Unfinished`], the status a run is given when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Unfinished,
    Finished,
    /// Stopped by Ctrl-C, SIGTERM or SIGHUP: the rows are those of the events processed.
    Interrupted,
    /// Ended without data, or an output could not be written.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Unfinished => "unfinished",
            RunStatus::Finished => "finished",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}
