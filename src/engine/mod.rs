//! The pure core: events in, bars, metrics and depth out. Never touches files, clocks or sockets.
//!
//! `engine/` never imports rusqlite, tokio, serde_json or std::fs; it cannot fail on I/O.

pub mod bars;
pub mod book;
pub mod depth;
pub mod event;
pub mod exact_sum;
pub mod footprint;
pub mod heatmap;
pub mod integrity;
pub mod metrics;
pub mod price;
pub mod prints;
pub mod processor;
pub mod signals;
pub mod timeframe;
pub mod trade_bars;
pub mod trade_windows;

pub use bars::{Bar, BarSeries, window_start};
pub use book::{BookSide, ExactSizeSums, OrderBook, SizeSums};
pub use depth::Depth;
pub use event::{BookAction, BookRow, Event, Level, Millis, SeqIds, Side, Trade};
pub use exact_sum::{ExactSum, Fixed};
pub use footprint::{FootprintBar, FootprintRow};
pub use integrity::{Chain, Example, Finding, Integrity, Link, Uncertain};
pub use metrics::{MetricBar, Ohlc, obi};
pub use price::Price;
pub use prints::{Print, PrintChanges, PrintTape};
pub use processor::{
    Applied, BookStage, Changes, Counts, FootprintsAway, Outcome, Processor, ProcessorConfig,
};
pub use signals::{Signal, SignalOptions};
pub use trade_bars::{TradeBar, TradeBarSize, TradeBars};
