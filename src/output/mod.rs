//! What leaves the engine: the seed's JSON files and the live feed for the web.
//!
//! The outputs of a run all stand behind [`Output`]: the run shows each of them a [`Frame`]
//! at most once per `--emit-ms` and once at the end. A new output (a store, a heatmap) is a
//! new file with an `impl Output`, and one line where `replay::run` lists its outputs.

pub mod flow_json;
pub mod footprint_file;
pub mod frame;
pub mod heatmap;
pub mod json_files;
pub mod live;
pub mod print_log;
pub mod seed_json;
pub mod signal_board;
pub mod status;
pub mod target;
pub mod temp;

pub use frame::{Frame, Output};
