//! The store (SPEC 9.1): bars, metric bars, footprints, prints, signals and runs in an SQLite
//! database that outlives the run.
//!
//! `repository.rs` is the only code that knows the store's SQL; `records.rs` holds the typed
//! rows it writes and reads; `file.rs` says which file may be a store.

pub mod file;
pub mod output;
pub mod records;
pub mod repository;
pub mod writer;

pub use output::StoreOutput;
pub use records::{
    BarRecord, Batch, FootprintRecord, PrintRecord, RunRecord, RunStatus, Series, SignalRecord,
};
pub use repository::{RuleSqlError, Store, StoreError, TABLES, Table};
pub use writer::SignalSinks;
