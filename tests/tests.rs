//! The integration tests: one binary, one module per area.

mod common;
mod parallel;
mod process;
mod real_data;
mod reliability;
mod replay;
mod source;
