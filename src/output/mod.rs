//! What leaves the engine: the seed's JSON files, the run summary and the live feed for the web.

pub mod json_files;
pub mod live;
pub mod seed_json;
pub mod summary;
pub mod target;
pub mod temp;
