//! orderflow: replay recorded order flow (order book updates and trades) from SQLite files.
//!
//! The crate follows the data as it flows:
//!
//! - [`source`]: the only code that knows SQLite: discovery of recordings, reading rows,
//!   parsing level text and timestamps, merging book rows and trades into [`engine::Event`]s.
//! - [`engine`]: pure state machines: order book, OHLC bars, OBI/CVD metrics, depth, and the
//!   [`engine::Processor`] that drives them. No I/O, no clocks.
//! - [`output`]: what leaves the engine: the seed's atomic JSON files, the run summary and the
//!   live feed that the web UI reads.
//! - [`web`]: the axum server, server push and the embedded page.
//! - [`replay`]: a replay: the recordings of a range through the engine into the outputs (the seed's `main.py` loop).
//! - [`synth`]: synthetic recordings for the demo, tests and benchmarks.

pub mod engine;
pub mod export;
pub mod output;
pub mod replay;
pub mod source;
pub mod store;
pub mod strategy;
pub mod synth;
pub mod time;
pub mod web;
