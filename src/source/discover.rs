//! Finding candidate recordings (SPEC 1.1). API CONTRACT.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("todo")]
    Todo,
}

/// Candidate files for `instrument` under `dir`, sorted by path.
///
/// # Errors
/// When `dir` cannot be read.
pub fn find_candidates(_dir: &Path, _instrument: &str) -> Result<Vec<PathBuf>, DiscoverError> {
    todo!()
}
