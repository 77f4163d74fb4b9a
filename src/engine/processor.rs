//! The processor: applies events in order to the book, the bars and the metrics (SPEC 2).
//!
//! API CONTRACT: the pipeline codes against these signatures; add, do not change.

use super::bars::window_start;
use super::book::OrderBook;
use super::metrics::obi;
use super::{Bar, BarSeries, BookAction, BookRow, Depth, Event, MetricBar, Millis, Side, Trade};

/// How the processor aggregates (SPEC 2 and 5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessorConfig {
    /// Bar window in ms (`--window-seconds` × 1000), >= 1000.
    pub window_ms: i64,
    /// Levels per side in the depth snapshot (>= 1).
    pub depth_levels: usize,
    /// Levels per side summed for OBI; `None` = the whole book.
    pub obi_levels: Option<usize>,
    /// Range start (inclusive), ms.
    pub start: Millis,
    /// Range end (exclusive), ms. The caller never passes events at or after it.
    pub end: Millis,
}

/// What [`Processor::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A book row before the range start: applied to the book, nothing produced.
    Warmup,
    /// An in-range event: counted, sampled.
    InRange,
    /// A trade before the range start, or any event at or after the range end: ignored.
    Ignored,
}

/// Bars and metric bars touched since the last [`Processor::take_changes`], oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub bars: Vec<Bar>,
    pub metric_bars: Vec<MetricBar>,
}

/// Counters for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Book rows applied in range.
    pub book_rows: u64,
    /// Book rows applied before the range start.
    pub warmup_book_rows: u64,
    /// Trades taken in range.
    pub trades: u64,
    /// Earliest timestamp of an in-range event (the minimum, also when files overlap).
    pub first_ts: Option<Millis>,
    /// Latest timestamp of an in-range event (the maximum).
    pub last_ts: Option<Millis>,
}

/// Applies events in the merged order of SPEC 2.1 and keeps what the outputs show: the bars,
/// the metric bars, the CVD and the depth as of the last in-range event.
///
/// `apply` is the hot path: it allocates only when a new window opens (a new bar) or the book
/// grows past its largest size so far. OBI is computed once per book change, not per event.
#[derive(Debug, Clone)]
pub struct Processor {
    config: ProcessorConfig,
    book: OrderBook,
    /// Whether a snapshot has been applied (SPEC 2.2); never reset.
    initialised: bool,
    bars: BarSeries<Bar>,
    metric_bars: BarSeries<MetricBar>,
    cvd: f64,
    counts: Counts,
    /// OBI of the current book over `obi_levels`; `None` when the book changed since it was
    /// computed, so a run of trades between two book rows sums the book once.
    obi: Option<f64>,
    /// The depth as of the last in-range event, captured when a warm-up row (possible with
    /// overlapping files) is about to change the book after in-range events; `None` whenever
    /// the book itself is what the last in-range event saw.
    depth_before_warmup: Option<Depth>,
}

impl Processor {
    /// A processor with an empty, uninitialised book. A `window_ms` below 1 is taken as 1 so
    /// that no configuration can make `apply` panic.
    pub fn new(config: ProcessorConfig) -> Self {
        let config = ProcessorConfig {
            window_ms: config.window_ms.max(1),
            ..config
        };
        Processor {
            config,
            book: OrderBook::new(),
            initialised: false,
            bars: BarSeries::new(),
            metric_bars: BarSeries::new(),
            cvd: 0.0,
            counts: Counts::default(),
            obi: None,
            depth_before_warmup: None,
        }
    }

    /// Applies one event (SPEC 2.2–2.4):
    /// - at or after the range end: [`Applied::Ignored`], nothing changes;
    /// - a book row before the start: applied to the book only, [`Applied::Warmup`];
    /// - a trade before the start: [`Applied::Ignored`];
    /// - otherwise the event is applied (a trade to its bar and the CVD), counted, and, once
    ///   the book is initialised, (OBI, CVD) is sampled into the metric bar of its window.
    pub fn apply(&mut self, event: &Event) -> Applied {
        let ts = event.ts();
        if ts >= self.config.end {
            return Applied::Ignored;
        }
        match event {
            Event::Book(row) if ts < self.config.start => {
                self.keep_depth_before_warmup();
                self.apply_row(row);
                self.counts.warmup_book_rows += 1;
                return Applied::Warmup;
            }
            Event::Book(row) => {
                self.apply_row(row);
                self.counts.book_rows += 1;
            }
            Event::Trade(_) if ts < self.config.start => return Applied::Ignored,
            Event::Trade(trade) => self.take_trade(trade),
        }
        self.note_in_range(ts);
        if self.initialised {
            self.sample(ts);
        }
        Applied::InRange
    }

    pub fn bars(&self) -> &BarSeries<Bar> {
        &self.bars
    }

    pub fn metric_bars(&self) -> &BarSeries<MetricBar> {
        &self.metric_bars
    }

    /// The depth snapshot (SPEC 2.5) as of the last in-range event; empty before any.
    pub fn depth(&self) -> Depth {
        let mut depth = Depth::default();
        self.fill_depth(&mut depth);
        depth
    }

    /// Writes [`Processor::depth`] into `out`, reusing its allocations.
    pub fn fill_depth(&self, out: &mut Depth) {
        if self.counts.first_ts.is_none() {
            out.bids.clear();
            out.asks.clear();
        } else if let Some(kept) = &self.depth_before_warmup {
            out.clone_from(kept);
        } else {
            out.fill_from(&self.book, self.config.depth_levels);
        }
    }

    /// Cumulative volume delta of the in-range trades: `sum(+size for buys, -size for sells)`.
    pub fn cvd(&self) -> f64 {
        self.cvd
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Bars and metric bars touched since the last call (for throttled output).
    pub fn take_changes(&mut self) -> Changes {
        Changes {
            bars: self.bars.take_changed(),
            metric_bars: self.metric_bars.take_changed(),
        }
    }

    /// The configuration in use (`window_ms` at least 1).
    pub fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// The current book, including any warm-up rows applied since the last in-range event.
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// Whether a snapshot has been applied, so that metric samples are taken.
    pub fn is_initialised(&self) -> bool {
        self.initialised
    }

    fn apply_row(&mut self, row: &BookRow) {
        match row.action {
            BookAction::Snapshot => {
                self.book.apply_snapshot(&row.bids, &row.asks);
                self.initialised = true;
            }
            BookAction::Update => self.book.apply_update(&row.bids, &row.asks),
        }
        self.obi = None;
    }

    fn take_trade(&mut self, trade: &Trade) {
        let window = window_start(trade.ts, self.config.window_ms);
        let (price, size) = (trade.price, trade.size);
        self.bars.upsert(
            window,
            || Bar::new(window, price, size),
            |bar| bar.update(price, size),
        );
        self.cvd += match trade.side {
            Side::Buy => size,
            Side::Sell => -size,
        };
        self.counts.trades += 1;
    }

    /// Before a warm-up row changes the book after in-range events, keeps the depth that the
    /// last in-range event saw (once: later warm-up rows must not overwrite it).
    fn keep_depth_before_warmup(&mut self) {
        if self.counts.first_ts.is_some() && self.depth_before_warmup.is_none() {
            self.depth_before_warmup = Some(Depth::from_book(&self.book, self.config.depth_levels));
        }
    }

    fn note_in_range(&mut self, ts: Millis) {
        let counts = &mut self.counts;
        counts.first_ts = Some(counts.first_ts.map_or(ts, |first| first.min(ts)));
        counts.last_ts = Some(counts.last_ts.map_or(ts, |last| last.max(ts)));
        self.depth_before_warmup = None;
    }

    fn sample(&mut self, ts: Millis) {
        let obi = match self.obi {
            Some(value) => value,
            None => *self.obi.insert(obi(&self.book, self.config.obi_levels)),
        };
        let cvd = self.cvd;
        let window = window_start(ts, self.config.window_ms);
        self.metric_bars.upsert(
            window,
            || MetricBar::new(window, obi, cvd),
            |bar| bar.sample(obi, cvd),
        );
    }
}

#[cfg(test)]
mod tests;
