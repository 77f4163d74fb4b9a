//! The only code that knows SQLite: finding recordings, reading their rows, parsing level text
//! and timestamps, and merging book rows and trades into engine events (SPEC 1 and 2.1).
//!
//! API CONTRACT (the pipeline codes against these): [`find_candidates`], [`Recording::open`],
//! [`Recording::info`], [`Recording::events`], [`EventStream::next`].

pub mod discover;
mod fetch;
pub mod guard;
pub mod levels;
pub mod number;
pub mod reader;
mod rows;
pub mod schema;
mod stream;
pub mod timestamp;

pub use discover::{DiscoverError, find_candidates, is_candidate_name};
pub use levels::{LevelError, parse_levels};
pub use reader::{
    BadReason, BadRow, EventStream, FileError, FileInfo, Record, Recording, Table, TradeOrder,
};
pub use timestamp::TimeUnit;
