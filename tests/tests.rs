//! The integration tests: one binary, a module per area.

mod common;
mod process;
mod real_data;
mod reliability;
