//! The integration tests: one binary, one module per area.

mod common;
mod flow;
mod heatmap;
mod integrity;
mod parallel;
mod process;
mod real_data;
mod reliability;
mod replay;
mod source;
mod store;
mod store_api;
