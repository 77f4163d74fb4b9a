//! The processor: applies events in order to the book, the bars and the metrics (SPEC 2).

use bitcode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::bars::{Bar, BarSeries, window_start};
use super::book::OrderBook;
use super::depth::Depth;
use super::event::{BookAction, BookRow, Event, Millis, Side, Trade};
use super::footprint::FootprintBar;
use super::heatmap::{HeatmapSampler, SliceBatch};
use super::integrity::{Chain, Integrity, Link, is_crossed};
use super::metrics::{MetricBar, obi};
use super::prints::{PrintChanges, PrintTape};
use super::trade_bars::{TradeBarSize, TradeBars};
use super::trade_windows::{Footprints, TradeWindows};

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

/// Bars, metric bars and footprints touched since the last [`Processor::take_changes`],
/// oldest first, and the prints made since.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub bars: Vec<Bar>,
    pub metric_bars: Vec<MetricBar>,
    pub footprints: Vec<FootprintBar>,
    pub prints: PrintChanges,
    /// The heatmap's slices sampled since the last take (with a heatmap, SPEC 7).
    pub heatmap: Option<SliceBatch>,
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

/// Whether an event counts: the range checks of SPEC 2.2 (the one place they are written).
fn classify(is_book: bool, ts: Millis, config: &ProcessorConfig) -> Applied {
    if ts >= config.end {
        Applied::Ignored
    } else if ts >= config.start {
        Applied::InRange
    } else if is_book {
        Applied::Warmup
    } else {
        Applied::Ignored
    }
}

/// What the book stage hands the accounting stage for one event: all that the bars, the
/// metrics and the counts need, without the book. Serializable, so that a `--jobs` worker can
/// spill it to disk whatever it holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub enum Outcome {
    /// A book row: its id and timestamp, whether it was a snapshot, the OBI of the book after
    /// it (0 for a row at or after the range end, which the book stage does not apply), how
    /// it links to the row before it, and whether it left the book crossed (SPEC 10.2).
    Book {
        id: i64,
        ts: Millis,
        snapshot: bool,
        obi: f64,
        link: Link,
        crossed: bool,
    },
    Trade(Trade),
}

impl Outcome {
    pub fn ts(&self) -> Millis {
        match self {
            Outcome::Book { ts, .. } => *ts,
            Outcome::Trade(trade) => trade.ts,
        }
    }

    pub fn is_book(&self) -> bool {
        matches!(self, Outcome::Book { .. })
    }
}

/// The footprints of a processor, taken away to be built apart from its other accounting
/// ([`Processor::take_footprints`]).
#[derive(Debug)]
pub struct FootprintsAway {
    footprints: Footprints,
    config: ProcessorConfig,
}

impl FootprintsAway {
    /// What [`Processor::account`] adds to the footprints for `outcome`: an in-range trade
    /// goes to its window.
    pub fn account(&mut self, outcome: &Outcome) {
        if let Outcome::Trade(trade) = outcome {
            if classify(false, trade.ts, &self.config) == Applied::InRange {
                self.footprints.take(trade);
            }
        }
    }
}

/// The book stage (expensive, and independent of the past after a snapshot): the book, the
/// OBI of each book row, and the depth as of the last in-range event.
#[derive(Debug, Clone)]
pub struct BookStage {
    config: ProcessorConfig,
    book: OrderBook,
    /// Whether an in-range event has been seen.
    seen_in_range: bool,
    /// The depth as of the last in-range event, captured when a warm-up row (possible with
    /// overlapping files) is about to change the book after in-range events; `None` whenever
    /// the book itself is what the last in-range event saw.
    depth_before_warmup: Option<Depth>,
    /// The message chain of the file being read (SPEC 10.2).
    chain: Chain,
}

impl BookStage {
    /// An empty book stage (`window_ms` of `config` is not used here).
    pub fn new(config: ProcessorConfig) -> Self {
        BookStage {
            config,
            book: OrderBook::new(),
            seen_in_range: false,
            depth_before_warmup: None,
            chain: Chain::default(),
        }
    }

    /// The rows that follow are of a new file: its first valid book row starts a chain.
    pub fn start_file(&mut self) {
        self.chain.start_file();
    }

    /// Applies a book row to the book (unless it is at or after the range end) and tells what
    /// the accounting stage needs of `event`.
    pub fn apply(&mut self, event: &Event) -> Outcome {
        let applied = classify(matches!(event, Event::Book(_)), event.ts(), &self.config);
        match applied {
            Applied::InRange => {
                self.seen_in_range = true;
                self.depth_before_warmup = None;
            }
            Applied::Warmup => self.keep_depth_before_warmup(),
            Applied::Ignored => {}
        }
        match event {
            Event::Trade(trade) => Outcome::Trade(*trade),
            Event::Book(row) => {
                let snapshot = row.action == BookAction::Snapshot;
                if applied == Applied::Ignored {
                    return Outcome::Book {
                        id: row.id,
                        ts: row.ts,
                        snapshot,
                        obi: 0.0,
                        link: Link::Unchecked,
                        crossed: false,
                    };
                }
                self.apply_row(row);
                Outcome::Book {
                    id: row.id,
                    ts: row.ts,
                    snapshot,
                    obi: obi(&self.book, self.config.obi_levels),
                    link: self.chain.link(row),
                    crossed: is_crossed(&self.book),
                }
            }
        }
    }

    /// Takes over from `later`, a book stage that started at a snapshot row and saw the
    /// events that followed those seen here: its book, and its depth as of the last in-range
    /// event when it saw one.
    pub fn continue_with(&mut self, later: BookStage) {
        if later.seen_in_range {
            self.seen_in_range = true;
            self.depth_before_warmup = later.depth_before_warmup;
        } else {
            // `later` began with a warm-up snapshot: keep the depth the book here shows.
            self.keep_depth_before_warmup();
        }
        self.book = later.book;
        self.chain = later.chain;
    }

    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// Writes the depth (SPEC 2.5) as of the last in-range event into `out`; empty before any.
    pub fn fill_depth(&self, out: &mut Depth) {
        if !self.seen_in_range {
            out.bids.clear();
            out.asks.clear();
        } else if let Some(kept) = &self.depth_before_warmup {
            out.clone_from(kept);
        } else {
            out.fill_from(&self.book, self.config.depth_levels);
        }
    }

    fn apply_row(&mut self, row: &BookRow) {
        match row.action {
            BookAction::Snapshot => self.book.apply_snapshot(&row.bids, &row.asks),
            BookAction::Update => self.book.apply_update(&row.bids, &row.asks),
        }
    }

    /// Before a warm-up row changes the book after in-range events, keeps the depth that the
    /// last in-range event saw (once: later warm-up rows must not overwrite it).
    fn keep_depth_before_warmup(&mut self) {
        if self.seen_in_range && self.depth_before_warmup.is_none() {
            self.depth_before_warmup = Some(Depth::from_book(&self.book, self.config.depth_levels));
        }
    }
}

/// Applies events in the merged order of SPEC 2.1 and keeps what the outputs show: the bars,
/// the metric bars, the CVD and the depth as of the last in-range event.
///
/// It is two stages: the [`BookStage`] (book, OBI, depth) turns each event into an
/// [`Outcome`], and the accounting stage ([`Processor::account`]: range checks, counts, bars,
/// CVD, metric samples) takes the outcomes in order. [`Processor::apply`] runs both; a
/// parallel run may run the book stage of a later file elsewhere and replay its outcomes.
#[derive(Debug, Clone)]
pub struct Processor {
    config: ProcessorConfig,
    stage: BookStage,
    /// Whether a snapshot has been applied (SPEC 2.2); never reset.
    initialised: bool,
    /// The bars and footprints (SPEC 2.3, 6.1, 6.2).
    windows: TradeWindows,
    /// Whether the footprints are away ([`Processor::take_footprints`]): the trades leave them
    /// be.
    footprints_away: bool,
    metric_bars: BarSeries<MetricBar>,
    /// The prints of the run (SPEC 6.3), held until taken with the changes.
    prints: PrintTape,
    cvd: f64,
    counts: Counts,
    integrity: Integrity,
    /// OBI of the book after the last book row applied.
    obi: f64,
    /// The window of the last event sampled, `window.start..window.end`: nearly every event
    /// falls in it, and then its start needs no division (see `window_of`).
    window: std::ops::Range<Millis>,
    /// The book at every slice end (SPEC 7), when a heatmap is asked for.
    heatmap: Option<HeatmapSampler>,
    /// Tick or volume bars, when asked for.
    trade_bars: Option<TradeBars>,
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
            stage: BookStage::new(config),
            initialised: false,
            windows: TradeWindows::new(config.window_ms),
            footprints_away: false,
            metric_bars: BarSeries::new(),
            prints: PrintTape::new(),
            cvd: 0.0,
            counts: Counts::default(),
            integrity: Integrity::default(),
            obi: 0.0,
            window: 0..0,
            heatmap: None,
            trade_bars: None,
        }
    }

    /// The same processor, also cutting the in-range trades into bars of trades (tick or
    /// volume bars, see [`TradeBars`]).
    pub fn with_trade_bars(mut self, size: TradeBarSize) -> Self {
        self.trade_bars = Some(TradeBars::new(size));
        self
    }

    /// The bars of trades, when asked for.
    pub fn trade_bars(&self) -> Option<&TradeBars> {
        self.trade_bars.as_ref()
    }

    /// The same processor, sampling the book at the end of every slice of `slice_ms` for the
    /// heatmap (SPEC 7; see [`HeatmapSampler`]). The slices come out with
    /// [`Processor::take_changes`].
    pub fn with_heatmap(mut self, slice_ms: i64) -> Self {
        self.heatmap = Some(HeatmapSampler::new(slice_ms, self.config.start));
        self
    }

    /// Applies one event (SPEC 2.2–2.4):
    /// - at or after the range end: [`Applied::Ignored`], nothing changes;
    /// - a book row before the start: applied to the book only, [`Applied::Warmup`];
    /// - a trade before the start: [`Applied::Ignored`];
    /// - otherwise the event is applied (a trade to its bar and the CVD), counted, and, once
    ///   the book is initialised, (OBI, CVD) is sampled into the metric bar of its window.
    pub fn apply(&mut self, event: &Event) -> Applied {
        let Some(sampler) = &mut self.heatmap else {
            let outcome = self.stage.apply(event);
            return self.account(&outcome);
        };
        let is_book = matches!(event, Event::Book(_));
        if classify(is_book, event.ts(), &self.config) != Applied::Ignored {
            // The event closes the slices that end at or before it, as the book stands.
            sampler.before_event(event.ts(), self.stage.book(), self.initialised);
        }
        let outcome = self.stage.apply(event);
        let applied = self.account(&outcome);
        if let Some(sampler) = &mut self.heatmap {
            match (event, applied) {
                (Event::Book(_), Applied::InRange | Applied::Warmup) => sampler.note_book_row(),
                (Event::Trade(trade), Applied::InRange) => sampler.note_trade(trade),
                _ => {}
            }
        }
        applied
    }

    /// At the end of the run: the heatmap's slices through the one that holds the last
    /// in-range event are sampled (SPEC 7), ready for [`Processor::take_changes`].
    pub fn finish_heatmap(&mut self) {
        let last_ts = self.counts.last_ts;
        if let Some(sampler) = &mut self.heatmap {
            sampler.finish(last_ts, self.stage.book(), self.initialised);
        }
    }

    /// With a heatmap whose store is shared ([`Processor::with_heatmap_sink`]): shows it, as
    /// a provisional end, the slices a run ending now would have (SPEC 8: after a seek or a
    /// step the heatmap is that of a run whose END is the position). Call right after
    /// [`Processor::take_changes`].
    pub fn show_heatmap_tail(&self) {
        if let Some(sampler) = &self.heatmap {
            sampler.show_tail(self.counts.last_ts, self.stage.book(), self.initialised);
        }
    }

    /// With a heatmap, appends large batches of slices straight to `sink` (the store that
    /// [`Processor::take_changes`]' batches go to), so that no batch grows big between frames.
    pub fn with_heatmap_sink(mut self, sink: crate::engine::heatmap::SharedStore) -> Self {
        if let Some(sampler) = &mut self.heatmap {
            sampler.set_sink(sink);
        }
        self
    }

    /// The heatmap's slice length in ms, `None` without a heatmap.
    pub fn heatmap_ms(&self) -> Option<i64> {
        self.heatmap.as_ref().map(HeatmapSampler::slice_ms)
    }

    /// The accounting stage of [`Processor::apply`]: everything but the book.
    ///
    /// Every outcome but an in-range trade ends the open print (SPEC 6.3: no other event
    /// between the trades of a print), a book row applied or not.
    pub fn account(&mut self, outcome: &Outcome) -> Applied {
        let ts = outcome.ts();
        let applied = classify(outcome.is_book(), ts, &self.config);
        match (outcome, applied) {
            (_, Applied::Ignored) | (Outcome::Trade(_), Applied::Warmup) => {
                self.prints.interrupt();
                return Applied::Ignored;
            }
            (
                Outcome::Book {
                    id,
                    snapshot,
                    obi,
                    link,
                    crossed,
                    ..
                },
                _,
            ) => {
                self.prints.interrupt();
                self.initialised |= *snapshot;
                self.obi = *obi;
                let in_range = applied == Applied::InRange;
                self.integrity
                    .take(*id, ts, *snapshot, *link, *crossed, in_range);
                if applied == Applied::Warmup {
                    self.counts.warmup_book_rows += 1;
                    return Applied::Warmup;
                }
                self.counts.book_rows += 1;
            }
            (Outcome::Trade(trade), _) => self.take_trade(trade),
        }
        self.note_in_range(ts);
        if self.initialised {
            self.sample(ts);
        }
        Applied::InRange
    }

    /// The events that follow are of file number `file` of the run: its first valid book row
    /// starts a message chain, and integrity examples name it.
    pub fn start_file(&mut self, file: usize) {
        self.stage.start_file();
        self.integrity.start_file(file);
    }

    /// The integrity findings so far (SPEC 10.2).
    pub fn integrity(&self) -> &Integrity {
        &self.integrity
    }

    /// A book stage for a later part of the run (it starts empty).
    pub fn new_book_stage(&self) -> BookStage {
        BookStage::new(self.config)
    }

    /// Takes over the book of `later` after its outcomes went through [`Processor::account`]
    /// (see [`BookStage::continue_with`]).
    pub fn continue_with(&mut self, later: BookStage) {
        self.stage.continue_with(later);
    }

    pub fn bars(&self) -> &BarSeries<Bar> {
        self.windows.bars()
    }

    pub fn metric_bars(&self) -> &BarSeries<MetricBar> {
        &self.metric_bars
    }

    /// The bar extras and footprint of every bar's window (SPEC 6.1, 6.2).
    pub fn footprints(&self) -> &BarSeries<FootprintBar> {
        self.windows.footprints()
    }

    /// Takes the footprints away, for another thread to build from the same outcomes
    /// ([`FootprintsAway::account`]) while this processor accounts for the rest (the bars
    /// included); until they are given back ([`Processor::give_back_footprints`]), it shows
    /// none and its trades leave them be. Both sides take every outcome, in the same order, so
    /// the footprints come back as [`Processor::account`] would have left them.
    pub fn take_footprints(&mut self) -> FootprintsAway {
        self.footprints_away = true;
        let empty = self.windows.footprints.empty_like();
        FootprintsAway {
            footprints: std::mem::replace(&mut self.windows.footprints, empty),
            config: self.config,
        }
    }

    /// Puts back the footprints of [`Processor::take_footprints`].
    pub fn give_back_footprints(&mut self, away: FootprintsAway) {
        self.windows.footprints = away.footprints;
        self.footprints_away = false;
    }

    /// The number of prints of the run so far (the open one included).
    pub fn print_count(&self) -> u64 {
        self.prints.len()
    }

    /// Keeps the footprints of the newest `n` windows only (a run whose outputs show no more
    /// than those): memory then does not grow with the number of windows.
    pub fn keep_newest_footprints(&mut self, n: usize) {
        self.windows.keep_newest_footprints(n);
    }

    /// Prints are counted but not kept for [`Processor::take_changes`] (a run that shows them
    /// nowhere).
    pub fn drop_prints(&mut self) {
        self.prints.drop_closed();
    }

    /// The prints made or changed since the last take, taken alone (a replay's read-ahead
    /// hands them on as it goes; the rest of its changes are never shown).
    pub fn take_prints(&mut self) -> PrintChanges {
        self.prints.take()
    }

    /// The prints closed since the last take, without the open one (a run at full speed hands
    /// them on between frames: [`PrintTape::take_closed`]).
    pub fn take_closed_prints(&mut self) -> PrintChanges {
        self.prints.take_closed()
    }

    /// The prints closed so far, and the open one (which a later trade may extend).
    pub fn print_tape(&self) -> &PrintTape {
        &self.prints
    }

    /// The depth snapshot (SPEC 2.5) as of the last in-range event; empty before any.
    pub fn depth(&self) -> Depth {
        let mut depth = Depth::default();
        self.fill_depth(&mut depth);
        depth
    }

    /// Writes [`Processor::depth`] into `out`, reusing its allocations.
    pub fn fill_depth(&self, out: &mut Depth) {
        self.stage.fill_depth(out);
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
        let (bars, footprints) = self.windows.take_changed();
        Changes {
            bars,
            metric_bars: self.metric_bars.take_changed(),
            footprints,
            prints: self.prints.take(),
            heatmap: self.heatmap.as_mut().map(HeatmapSampler::take),
        }
    }

    /// The configuration in use (`window_ms` at least 1).
    pub fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// The current book, including any warm-up rows applied since the last in-range event.
    pub fn book(&self) -> &OrderBook {
        self.stage.book()
    }

    /// Whether a snapshot has been applied, so that metric samples are taken.
    pub fn is_initialised(&self) -> bool {
        self.initialised
    }

    fn take_trade(&mut self, trade: &Trade) {
        if self.footprints_away {
            self.windows.bars.take(trade);
        } else {
            self.windows.take(trade);
        }
        self.prints.trade(trade);
        if let Some(bars) = &mut self.trade_bars {
            bars.trade(trade);
        }
        self.cvd += match trade.side {
            Side::Buy => trade.size,
            Side::Sell => -trade.size,
        };
        self.counts.trades += 1;
    }

    /// `window_start(ts, window_ms)`, from the window of the last call when `ts` is in it.
    #[inline]
    fn window_of(&mut self, ts: Millis) -> Millis {
        if self.window.contains(&ts) {
            return self.window.start;
        }
        let start = window_start(ts, self.config.window_ms);
        // A start that saturated at the beginning of time is not where its window begins:
        // keep no window then. An end that saturates at the end of time is still right.
        let end = if start == Millis::MIN {
            start
        } else {
            start.saturating_add(self.config.window_ms)
        };
        self.window = start..end;
        start
    }

    fn note_in_range(&mut self, ts: Millis) {
        let counts = &mut self.counts;
        counts.first_ts = Some(counts.first_ts.map_or(ts, |first| first.min(ts)));
        counts.last_ts = Some(counts.last_ts.map_or(ts, |last| last.max(ts)));
    }

    fn sample(&mut self, ts: Millis) {
        let (obi, cvd) = (self.obi, self.cvd);
        let window = self.window_of(ts);
        self.metric_bars.upsert(
            window,
            || MetricBar::new(window, obi, cvd),
            |bar| bar.sample(obi, cvd),
        );
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod flow_tests;
