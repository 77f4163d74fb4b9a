//! The strategy layer (SPEC 9.2): signals computed on the stored bars, user rules as SQL that
//! SQLite evaluates, and `--on-signal`, which hands each new signal to a command.
//!
//! `evaluate.rs` computes the signals of a range of closed bars; `rules.rs` reads the user
//! rules' file; `notify.rs` runs the `--on-signal` command on a thread of its own.

pub mod evaluate;
pub mod notify;
pub mod rules;

pub use evaluate::{EvaluateError, Strategy, evaluate};
pub use notify::OnSignal;
pub use rules::Rule;
