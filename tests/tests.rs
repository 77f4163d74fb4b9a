//! The integration tests: one binary, one module per area.

mod common;
mod heatmap;
mod parallel;
mod process;
mod real_data;
mod reliability;
mod source;
