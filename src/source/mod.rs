//! Where events come from: finding recordings, reading their rows, parsing the stored values,
//! and merging book rows and trades into engine events in time order (SPEC 1 and 2.1).
//!
//! In layers, each importing only those above it:
//! - [`record`]: the vocabulary: records, bad rows, what a file holds, why it cannot be used;
//! - [`parse`]: pure parsing of stored values: level text, numbers as text, timestamps;
//! - [`merge`]: the pure time merge of any two sources of decoded items; `tail_merge` the
//!   same over tables still growing (`run --follow`);
//! - [`discover`]: finding the candidate files of an instrument;
//! - [`sqlite`]: everything that knows SQLite: connections, schema, queries, decoding,
//!   threads and batches.

pub mod discover;
pub mod merge;
pub mod parse;
pub mod record;
pub mod sqlite;
pub mod tail_merge;

pub use discover::{DiscoverError, find_candidates, is_candidate_name, recordings_by_instrument};
pub use parse::levels::{self, LevelError, parse_levels};
pub use parse::timestamp::TimeUnit;
pub use parse::{number, timestamp};
pub use record::{BadReason, BadRow, FileError, FileInfo, Record, Table};
pub use sqlite::{Ending, Next, ReadMode, Reader, Recording, Tail, TradeOrder, guard, schema};
pub use tail_merge::Release;
