//! `footprint_data.json` (SPEC 6.4) kept up to date beside the seed's files, under their rules
//! (SPEC 3.1): reset at the start, the newest 1000 bars oldest first, rewritten at most once per
//! frame and only when a footprint changed, written atomically, and a last time at the end.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use tempfile::TempPath;

use super::flow_json::{FOOTPRINT_FILE, render_footprints};
use super::frame::{Frame, Output, WriteError};
use super::json_files::{CreateError, Janitor, swap_in};
use super::seed_json::MAX_BARS;
use super::status::Phase;
use super::target::{self, Target};
use crate::engine::FootprintBar;

/// `footprint_data.json` in one folder.
#[derive(Debug)]
pub struct FootprintFile {
    /// Where the file is written: in the folder, or where a link of that name points.
    path: PathBuf,
    janitor: Janitor,
    /// Whether the frames of the run are written on a thread of their own
    /// ([`FootprintFile::write_apart`]).
    apart: bool,
    /// The write of the last frame, on its thread: the file it replaced.
    writing: Option<JoinHandle<Result<Option<TempPath>, WriteError>>>,
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
            apart: false,
            writing: None,
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

    /// With `apart`, the frames of the run are written on a thread of their own, each after
    /// the one before: rendering this file (10 MB for 1000 bars of a trade-heavy day, a
    /// twentieth of the work of processing it) is then off the thread that processes the
    /// events, which a `--jobs` run's stitcher is short of. The last frame (the run done,
    /// stopped or failed) and a restart are written on the calling thread, as without.
    pub fn write_apart(&mut self, apart: bool) {
        self.apart = apart;
    }

    /// Waits for the write of the last frame, if it is still on its thread.
    ///
    /// # Errors
    /// That write's.
    fn settle(&mut self) -> Result<(), WriteError> {
        if let Some(writing) = self.writing.take() {
            let replaced = writing
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            if let Some(old) = replaced {
                self.janitor.delete(old);
            }
        }
        Ok(())
    }

    /// Writes the newest [`MAX_BARS`] of `bars`, oldest first.
    ///
    /// # Errors
    /// When the file cannot be written; the old file then stays as it was.
    pub fn write<'a>(
        &mut self,
        bars: impl IntoIterator<Item = &'a FootprintBar>,
    ) -> Result<(), WriteError> {
        self.settle()?;
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
        let bars = frame.processor.footprints().tail(MAX_BARS);
        let last = matches!(
            frame.status.phase,
            Phase::Done | Phase::Interrupted | Phase::Failed
        );
        if !self.apart || last {
            return self.write(bars);
        }
        self.settle()?;
        // A copy of the bars: their rows are shared, and the processor copies those of a bar
        // it adds to while they are (only the newest, at most a few).
        let bars: Vec<FootprintBar> = bars.cloned().collect();
        let path = self.path.clone();
        let write = move || swap_in(&path, |out| render_footprints(out, &bars));
        match std::thread::Builder::new()
            .name("orderflow-footprints".to_owned())
            .spawn(write)
        {
            Ok(writing) => self.writing = Some(writing),
            // No thread to be had: written here, as without.
            Err(_) => self.write(frame.processor.footprints().tail(MAX_BARS))?,
        }
        Ok(())
    }

    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.write(frame.processor.footprints().tail(MAX_BARS))
    }
}

impl Drop for FootprintFile {
    fn drop(&mut self) {
        // Nothing is left writing, nor a temporary file behind, once the file is dropped.
        let _ = self.settle();
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
    fn frames_written_apart_land_in_order_and_the_last_in_place() {
        use crate::engine::{Depth, Event, Processor, ProcessorConfig, Trade};
        use crate::output::status::Status;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FOOTPRINT_FILE);
        let mut file = FootprintFile::create(dir.path()).unwrap();
        file.write_apart(true);
        let mut processor = Processor::new(ProcessorConfig {
            window_ms: 60_000,
            depth_levels: 1,
            obi_levels: None,
            start: 0,
            end: i64::MAX,
        });
        let depth = Depth::default();
        let mut status = Status {
            phase: Phase::Processing,
            ..Status::default()
        };
        let mut show = |processor: &mut Processor, status: &Status, minute: i64| {
            processor.apply(&Event::Trade(Trade {
                id: minute,
                ts: minute * 60_000,
                price: 10.0,
                size: 1.0,
                side: Side::Buy,
            }));
            let changes = processor.take_changes();
            let frame = Frame {
                processor,
                changes: &changes,
                depth: &depth,
                status,
            };
            file.show(&frame).unwrap();
        };
        for minute in 1..=5 {
            show(&mut processor, &status, minute);
        }
        // The last frame is written before `show` returns, after the ones before it.
        status.phase = Phase::Done;
        show(&mut processor, &status, 6);
        let written: Vec<serde_json::Value> =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written.len(), 6);
        assert_eq!(written[5][0], 6 * 60_000);
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
