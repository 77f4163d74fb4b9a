//! `footprint_data.json` (SPEC 6.4) kept up to date beside the seed's files, under their rules
//! (SPEC 3.1): reset at the start, the newest 1000 bars oldest first, rewritten at most once per
//! frame and only when a footprint changed, written atomically, and a last time at the end.

use std::fs;
use std::path::{Path, PathBuf};

use super::flow_json::{FOOTPRINT_FILE, render_footprints};
use super::frame::{Frame, Output, WriteError};
use super::json_files::{CreateError, Janitor, swap_in};
use super::seed_json::MAX_BARS;
use super::target::{self, Target};
use crate::engine::FootprintBar;

/// `footprint_data.json` in one folder.
#[derive(Debug)]
pub struct FootprintFile {
    /// Where the file is written: in the folder, or where a link of that name points.
    path: PathBuf,
    janitor: Janitor,
}

impl FootprintFile {
    /// Checks that the file in `dir` is new or orderflow's own, writing nothing (so that a run
    /// refused for it has written none of the seed's files either); [`FootprintFile::reset`]
    /// then empties it.
    ///
    /// # Errors
    /// [`CreateError::Refused`] when the file is not orderflow's to replace.
    pub fn check(dir: &Path) -> Result<FootprintFile, CreateError> {
        Ok(FootprintFile {
            path: target::check(&dir.join(FOOTPRINT_FILE), Target::Footprint)?,
            janitor: Janitor::default(),
        })
    }

    /// Checks the file in `dir` ([`FootprintFile::check`]), creating `dir` if needed, and
    /// resets it to empty (`[]`).
    ///
    /// # Errors
    /// As [`super::json_files::JsonFiles::create`].
    pub fn create(dir: &Path) -> Result<FootprintFile, CreateError> {
        let mut file = FootprintFile::check(dir)?;
        fs::create_dir_all(dir).map_err(|source| WriteError {
            path: dir.to_owned(),
            source,
        })?;
        file.reset()?;
        Ok(file)
    }

    /// Empties the file (`[]`), as at the start of a run.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn reset(&mut self) -> Result<(), WriteError> {
        self.write(&[])
    }

    /// Writes the newest [`MAX_BARS`] of `bars`, oldest first.
    ///
    /// # Errors
    /// When the file cannot be written; the old file then stays as it was.
    pub fn write<'a>(
        &mut self,
        bars: impl IntoIterator<Item = &'a FootprintBar>,
    ) -> Result<(), WriteError> {
        if let Some(old) = swap_in(&self.path, |out| render_footprints(out, bars))? {
            self.janitor.delete(old);
        }
        Ok(())
    }
}

impl Output for FootprintFile {
    fn show(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        // The file is the largest of the run's (a few MB for 1000 busy bars): it is rewritten
        // only when a footprint changed since the last frame.
        if frame.changes.footprints.is_empty() {
            return Ok(());
        }
        self.write(frame.processor.footprints().tail(MAX_BARS))
    }

    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.write(frame.processor.footprints().tail(MAX_BARS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Side;

    #[test]
    fn reset_at_creation_then_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FOOTPRINT_FILE);
        fs::write(&path, "[[1,[[2,3,4]]]]").unwrap();
        let mut file = FootprintFile::create(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "[]");
        let mut bar = FootprintBar::new(60_000);
        bar.add(5.0, 1.0, Side::Buy);
        file.write(&[bar]).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "[\n[60000,[[5.0,1.0,0.0]]]\n]"
        );
        drop(file);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn someone_elses_file_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FOOTPRINT_FILE), "my notes").unwrap();
        assert!(FootprintFile::create(dir.path()).is_err());
    }
}
