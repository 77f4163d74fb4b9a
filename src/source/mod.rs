//! The only code that knows SQLite: finding recordings, reading their rows, parsing level text
//! and timestamps, and merging book rows and trades into engine events (SPEC 1 and 2.1).
//!
//! API CONTRACT (the pipeline codes against these; internals filled in by the source work).

pub mod discover;
pub mod levels;
pub mod number;
pub mod reader;
pub mod schema;
pub mod timestamp;

pub use discover::{DiscoverError, find_candidates};
pub use reader::{BadReason, BadRow, EventStream, FileError, FileInfo, Record, Recording, Table};
pub use timestamp::TimeUnit;
