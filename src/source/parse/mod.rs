//! Pure parsing of the values a recording stores: level text (JSON or Python literals),
//! numbers stored as text, and timestamps in any unit (SPEC 1.3, 1.4). No SQLite, no I/O.

pub mod levels;
pub mod number;
pub mod timestamp;
