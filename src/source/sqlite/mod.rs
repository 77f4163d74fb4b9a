//! Recordings in SQLite: opening one, learning what it holds, and reading its events.
//!
//! [`Recording::open`] learns what a file holds from a handful of indexed queries (the first and
//! last rows by `id`), never a scan. [`Recording::read`] gives its records in time order, read
//! on helper threads (`threads.rs`) or on the calling thread (`inline.rs`).
//!
//! Inside: `connection` opens files, `guard` watches their queries, `schema` finds tables and
//! columns, `plan` writes the queries, `cursor` steps them row by row, `pages` reads a
//! rowid table's rows from its pages where that is exact, `decode` turns rows into
//! records, `fetch` hands batches between threads, `order` brings the trades into time order,
//! `tail` follows a file that a recorder is still writing (`run --follow`).

mod connection;
mod cursor;
mod decode;
mod fetch;
pub mod guard;
mod inline;
mod order;
mod pages;
mod plan;
mod read;
mod recording;
pub mod schema;
mod tail;
mod threads;
mod time_sql;

pub use order::{Ending, TradeOrder};
pub use read::{Next, ReadMode, Reader};
pub use recording::Recording;
pub use tail::Tail;
