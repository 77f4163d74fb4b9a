//! The seed's IPC: `ohlc_data.json`, `metrics_data.json` and `depth_data.json`, written
//! atomically (SPEC 3.1).
//!
//! Every write goes to a temporary file in the same folder, which then takes the old file's
//! place in one step, so a reader polling the folder sees either the old or the new content,
//! never a part.
//!
//! On Linux the step is `renameat2(RENAME_EXCHANGE)`, and the old file, now under the
//! temporary name, is deleted on a helper thread. A plain rename over a file frees the old
//! file inside the `rename` call, and on an ext4 volume mounted with `discard` (common on cloud
//! VMs) freeing waits for the device to discard its blocks: 1 to 4 ms a file, 6 files a run
//! (3 reset at the start, 3 final), most of the wall time of a short run. A rename over a file
//! also makes ext4 allocate the new file's blocks at once (`auto_da_alloc`), so that the next
//! replacement pays the discard again. The exchange does neither; the price is that after a
//! power loss a file written just before may be empty, which for files rewritten by every run
//! is no loss.
//!
//! Before the first write, each of the three files is checked ([`super::target`]): a file that
//! orderflow did not write (a recording, a folder, a FIFO, someone's JSON) is never replaced,
//! and the run stops before any work. A symbolic link is written through to its target.

use std::fmt::{self, Write};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use tempfile::TempPath;

use super::frame::{Frame, Output};
use super::seed_json::MAX_BARS;
use super::seed_json::{
    DEPTH_FILE, METRICS_FILE, OHLC_FILE, render_bars, render_depth, render_metrics,
};
use super::target::{self, Refused, Target};
use super::temp;
use crate::engine::{Bar, Depth, MetricBar};

pub use super::frame::WriteError;

/// The JSON files could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// The three JSON files in one folder.
#[derive(Debug)]
pub struct JsonFiles {
    dir: PathBuf,
    /// Where each file is written: in `dir`, or where a link of that name in `dir` points.
    ohlc: PathBuf,
    metrics: PathBuf,
    depth: PathBuf,
    janitor: Janitor,
}

impl JsonFiles {
    /// Creates `dir` if needed, checks that the three files are new or orderflow's own, deletes
    /// the temporary files of runs that are gone, and resets the three files to empty.
    ///
    /// # Errors
    /// [`CreateError::Refused`], before anything is written, when a file is not orderflow's to
    /// replace; [`CreateError::Write`] when the folder cannot be created or a file in it cannot
    /// be written.
    pub fn create(dir: &Path) -> Result<JsonFiles, CreateError> {
        fs::create_dir_all(dir).map_err(|source| WriteError {
            path: dir.to_owned(),
            source,
        })?;
        let mut files = JsonFiles {
            dir: dir.to_owned(),
            ohlc: target::check(&dir.join(OHLC_FILE), Target::Bars)?,
            metrics: target::check(&dir.join(METRICS_FILE), Target::Bars)?,
            depth: target::check(&dir.join(DEPTH_FILE), Target::Depth)?,
            janitor: Janitor::default(),
        };
        temp::remove_stale(dir);
        files.write(&[], &[], &Depth::default())?;
        Ok(files)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the newest [`MAX_BARS`] of `bars` and `metric_bars` (oldest first) and `depth`.
    ///
    /// # Errors
    /// When a file cannot be written; the old file then stays as it was.
    pub fn write<'a>(
        &mut self,
        bars: impl IntoIterator<Item = &'a Bar>,
        metric_bars: impl IntoIterator<Item = &'a MetricBar>,
        depth: &Depth,
    ) -> Result<(), WriteError> {
        if let Some(old) = swap_in(&self.ohlc, |out| render_bars(out, bars))? {
            self.janitor.delete(old);
        }
        if let Some(old) = swap_in(&self.metrics, |out| render_metrics(out, metric_bars))? {
            self.janitor.delete(old);
        }
        if let Some(old) = swap_in(&self.depth, |out| render_depth(out, depth))? {
            self.janitor.delete(old);
        }
        Ok(())
    }
}

/// Deletes replaced files on a thread of its own, started at the first one; dropping it waits
/// for the deletions, so that no temporary file outlives the run.
#[derive(Debug, Default)]
pub(super) struct Janitor {
    worker: Option<(Sender<TempPath>, JoinHandle<()>)>,
}

impl Janitor {
    pub(super) fn delete(&mut self, old: TempPath) {
        if self.worker.is_none() {
            let (sender, receiver) = std::sync::mpsc::channel::<TempPath>();
            // Dropping a `TempPath` deletes its file.
            let spawned = std::thread::Builder::new()
                .name("json-janitor".to_owned())
                .spawn(move || receiver.into_iter().for_each(drop));
            if let Ok(thread) = spawned {
                self.worker = Some((sender, thread));
            }
        }
        match &self.worker {
            Some((sender, _)) => {
                if let Err(unsent) = sender.send(old) {
                    drop(unsent.0);
                }
            }
            // No thread to be had: delete it here.
            None => drop(old),
        }
    }
}

impl Drop for Janitor {
    fn drop(&mut self) {
        if let Some((sender, thread)) = self.worker.take() {
            drop(sender);
            let _ = thread.join();
        }
    }
}

/// The text of a JSON file on its way into a buffered file: `fmt::Write` for the renderers,
/// keeping the I/O error that `fmt::Error` cannot carry.
pub(super) struct FileText<W: io::Write> {
    file: W,
    error: Option<io::Error>,
}

impl<W: io::Write> Write for FileText<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.file.write_all(text.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// Writes what `render` writes in place of `path` through a temporary file in the same folder;
/// returns the file it replaced, under a temporary name, when it was swapped out rather than
/// freed by a rename (see the module's notes). Rendered straight into a buffered file: a text
/// buffer would grow to the largest file (a quarter megabyte for 1000 metric bars) and stay.
pub(super) fn swap_in(
    path: &Path,
    render: impl FnOnce(&mut FileText<io::BufWriter<&mut fs::File>>) -> fmt::Result,
) -> Result<Option<TempPath>, WriteError> {
    let error = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    let temp = write_temp(path, render)?.into_temp_path();
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        // Fails when `path` does not exist yet, or the file system cannot exchange: then the
        // plain rename below does the job.
        if renameat_with(CWD, &*temp, CWD, path, RenameFlags::EXCHANGE).is_ok() {
            if fs::symlink_metadata(&*temp).is_ok_and(|old| old.is_file()) {
                return Ok(Some(temp));
            }
            // What was swapped out is not the file this run wrote: something else (a folder, a
            // FIFO) took its place during the run. Put it back as it was, and stop.
            if renameat_with(CWD, &*temp, CWD, path, RenameFlags::EXCHANGE).is_err() {
                // Then it stays under the temporary name: never delete what is not ours.
                let _ = temp.keep();
            }
            return Err(error(not_a_regular_file()));
        }
    }
    if fs::symlink_metadata(path).is_ok_and(|old| !old.is_file()) {
        return Err(error(not_a_regular_file()));
    }
    temp.persist(path).map_err(|e| error(e.error))?;
    Ok(None)
}

fn not_a_regular_file() -> io::Error {
    io::Error::other(
        "it is no longer a regular file: something else was put in its place during the run, \
         and it was left there",
    )
}

/// A temporary file next to `path` holding what `render` writes.
fn write_temp(
    path: &Path,
    render: impl FnOnce(&mut FileText<io::BufWriter<&mut fs::File>>) -> fmt::Result,
) -> Result<tempfile::NamedTempFile, WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let error = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    let mut temp = temp::builder().tempfile_in(dir).map_err(error)?;
    let mut text = FileText {
        file: io::BufWriter::new(temp.as_file_mut()),
        error: None,
    };
    if render(&mut text).is_err() {
        return Err(error(text.error.unwrap_or_else(|| {
            io::Error::other("a value could not be formatted")
        })));
    }
    text.file.flush().map_err(error)?;
    drop(text);
    Ok(temp)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename. The
/// caller has checked `path` ([`target::check`]) and passes the path that check returned.
///
/// # Errors
/// When the temporary file cannot be written or renamed; it is removed then.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    if fs::symlink_metadata(path).is_ok_and(|old| !old.is_file()) {
        return Err(WriteError {
            path: path.to_owned(),
            source: not_a_regular_file(),
        });
    }
    write_temp(path, |text| {
        text.file.write_all(bytes).map_err(|e| {
            text.error = Some(e);
            fmt::Error
        })
    })?
    .persist(path)
    .map_err(|e| WriteError {
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

/// The seed's three files, rewritten whole at each frame: the newest [`MAX_BARS`] bars and
/// metric bars, and the depth.
impl Output for JsonFiles {
    fn show(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.write(
            frame.processor.bars().tail(MAX_BARS),
            frame.processor.metric_bars().tail(MAX_BARS),
            frame.depth,
        )
    }

    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.show(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: i64) -> Bar {
        let values = [1.5, 2.0, 1.0, 1.25, 3.0];
        Bar::from(crate::output::seed_json::BarRow { ts, values })
    }

    /// Asserts that `dir` holds the three files and nothing else (no temporary file).
    fn assert_only_the_three_files(dir: &Path) {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [DEPTH_FILE, METRICS_FILE, OHLC_FILE]);
    }

    #[test]
    fn empty_state_is_valid_json() {
        let dir = tempfile::tempdir().unwrap();
        JsonFiles::create(dir.path()).unwrap();
        for (file, expected) in [
            (OHLC_FILE, "[]"),
            (METRICS_FILE, "[]"),
            (DEPTH_FILE, r#"{"bids":[],"asks":[]}"#),
        ] {
            assert_eq!(fs::read_to_string(dir.path().join(file)).unwrap(), expected);
        }
        assert_only_the_three_files(dir.path());
    }

    /// Files from an earlier run are replaced, each write shows the newest content, and once
    /// the files are dropped no replaced file is left under a temporary name.
    #[test]
    fn rewrites_replace_the_files_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(OHLC_FILE), "[[1,2,3,4,5,6]]").unwrap();
        let mut files = JsonFiles::create(dir.path()).unwrap();
        let read = |name| fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(read(OHLC_FILE), "[]");
        for n in 1..=5 {
            let bars: Vec<Bar> = (0..n).map(|i| bar(i * 60_000)).collect();
            files.write(&bars, &[], &Depth::default()).unwrap();
            let written: Vec<Vec<f64>> = serde_json::from_str(&read(OHLC_FILE)).unwrap();
            assert_eq!(written.len(), n as usize);
        }
        drop(files);
        assert_only_the_three_files(dir.path());
    }

    /// A folder put in place of a JSON file during a run is left there, never swapped away.
    #[test]
    fn a_folder_that_takes_a_files_place_during_a_run_is_left_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = JsonFiles::create(dir.path()).unwrap();
        let ohlc = dir.path().join(OHLC_FILE);
        fs::remove_file(&ohlc).unwrap();
        fs::create_dir(&ohlc).unwrap();
        fs::write(ohlc.join("keep"), "mine").unwrap();
        let err = files.write(&[bar(0)], &[], &Depth::default()).unwrap_err();
        assert!(err.to_string().contains(OHLC_FILE), "{err}");
        assert_eq!(fs::read_to_string(ohlc.join("keep")).unwrap(), "mine");
        drop(files);
        assert_only_the_three_files(dir.path());
    }

    #[test]
    fn an_unwritable_folder_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        fs::write(&file, "x").unwrap();
        let err = JsonFiles::create(&file.join("sub")).unwrap_err();
        assert!(err.to_string().contains("not-a-folder"), "{err}");
    }
}
