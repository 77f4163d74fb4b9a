//! The processor: applies events in order to the book, the bars and the metrics (SPEC 2).
//!
//! API CONTRACT (filled in by the engine work; the pipeline codes against these signatures).

use super::{Bar, BarSeries, Depth, Event, MetricBar, Millis};

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
    /// A trade before the range start: ignored.
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
    pub book_rows: u64,
    pub warmup_book_rows: u64,
    pub trades: u64,
    pub first_ts: Option<Millis>,
    pub last_ts: Option<Millis>,
}

pub struct Processor {
    _todo: (),
}

impl Processor {
    pub fn new(_config: ProcessorConfig) -> Self {
        todo!()
    }
    pub fn apply(&mut self, _event: &Event) -> Applied {
        todo!()
    }
    pub fn bars(&self) -> &BarSeries<Bar> {
        todo!()
    }
    pub fn metric_bars(&self) -> &BarSeries<MetricBar> {
        todo!()
    }
    /// The depth snapshot (SPEC 2.5) as of the last in-range event; empty before any.
    pub fn depth(&self) -> Depth {
        todo!()
    }
    pub fn cvd(&self) -> f64 {
        todo!()
    }
    pub fn counts(&self) -> Counts {
        todo!()
    }
    pub fn take_changes(&mut self) -> Changes {
        todo!()
    }
}
