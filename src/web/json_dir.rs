//! `orderflow serve`: feeds a [`LiveFeed`] from the seed's JSON files (SPEC 3.1) that a
//! `process` run, or any writer of that schema, keeps rewriting in a folder.
//!
//! The folder is polled (every [`POLL_EVERY`]). Only regular files (or links to them) of at
//! most [`MAX_FILE_BYTES`] are read, opened so that a FIFO or device never blocks the poller.
//! A file is read again when its length, times or inode changed, or when it was touched so
//! shortly before the last read that a rewrite could have kept them all; its content is parsed
//! only when it differs from the last read, so no rewrite is missed and none parsed twice. A
//! file that is missing, caught half-written or invalid leaves the last good data in place and
//! is reported once per version, not at every poll, without quoting more than a short excerpt.
//!
//! The files hold only the newest 1000 bars; the feed keeps older ones as long as the files go
//! on from what it has (the newest file's first bar is one it knows, and every bar it knows
//! from there on is still in the file). Anything else means the writer started over (a new
//! run resets the files): then the feed is replaced by the files' content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use std::{fs, io};

use crate::engine::{Bar, Depth, FootprintBar, MetricBar, Millis};
use crate::output::flow_json::{FOOTPRINT_FILE, parse_footprints};
use crate::output::live::{LiveFeed, Phase, Status, Update};
use crate::output::seed_json::{
    ContentError, DEPTH_FILE, METRICS_FILE, OHLC_FILE, parse_bars, parse_depth, parse_metrics,
};

pub const POLL_EVERY: Duration = Duration::from_millis(500);

/// The most of a file that is read. The seed's schema keeps 1000 bars, about 150 KB of bars
/// and 250 KB of metric bars, and a depth of even 10,000 levels a side is under 1 MB; 4 MiB is
/// far beyond any honest file yet bounds what one poll holds: the text and its parse, which
/// takes up to about seven times the text for short rows.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// The most of `footprint_data.json` that is read: 1000 busy bars at tick prices are a few
/// MB (a row per traded price); 32 MiB bounds it the same way.
pub const MAX_FOOTPRINT_BYTES: u64 = 32 << 20;

/// A rewrite within this long of the last read may share its timestamps with the version read
/// (file-system clocks tick coarsely, FAT's every 2 s), so such a file is read again and its
/// content compared rather than trusted to be unchanged (git calls it "racily clean").
const RACY_MARGIN: Duration = Duration::from_secs(2);

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "not a regular file but {kind}; serve reads only regular files (a symbolic link must lead to one)"
    )]
    NotRegular { kind: &'static str },
    #[error(
        "{len} bytes, more than the {MAX_FILE_BYTES} bytes any file of the seed's schema needs (1000 bars); not read"
    )]
    TooLarge { len: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// What identifies a version of a file without reading it: where it lives, how long it is,
/// when it was modified and when its inode last changed (which no writer can set back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signature {
    len: u64,
    modified: Option<SystemTime>,
    /// Status change time (`ctime`) where the platform has it.
    changed: Option<SystemTime>,
    inode: Option<(u64, u64)>,
}

impl Signature {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let (changed, inode) = {
            use std::os::unix::fs::MetadataExt;
            let changed = u32::try_from(meta.ctime_nsec()).ok().and_then(|nanos| {
                let since_epoch = Duration::new(u64::try_from(meta.ctime()).ok()?, nanos);
                SystemTime::UNIX_EPOCH.checked_add(since_epoch)
            });
            (changed, Some((meta.dev(), meta.ino())))
        };
        #[cfg(not(unix))]
        let (changed, inode) = (None, None);
        Signature {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed,
            inode,
        }
    }

    /// The latest of the two times, the one a rewrite surely moves on.
    fn touched(&self) -> Option<SystemTime> {
        self.changed.max(self.modified)
    }
}

/// Whether a file must be read to know whether it changed: its signature differs from the last
/// one read, or it was touched so shortly before that read (`verified_at`, when the read began)
/// that a later rewrite could have kept every timestamp.
fn must_read(last: Option<Signature>, now: Signature, verified_at: Option<SystemTime>) -> bool {
    if last != Some(now) {
        return true;
    }
    match (now.touched(), verified_at) {
        (Some(touched), Some(verified_at)) => touched + RACY_MARGIN >= verified_at,
        _ => true,
    }
}

/// What a poll found, as far as it is reported: each distinct problem is logged once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finding {
    Missing,
    Unreadable,
    NotRegular(Signature),
    TooLarge(Signature),
    /// Content with this hash.
    Content(u64),
}

/// One of the three files, with what was seen and reported of it.
struct Watched {
    path: PathBuf,
    /// Signature of the version last read, and when that read began.
    read: Option<(Signature, SystemTime)>,
    /// Hash of the content last read: the same bytes are not parsed twice.
    content: Option<u64>,
    reported: Option<Finding>,
    /// The most of the file that is read.
    limit: u64,
}

impl Watched {
    fn new(dir: &Path, name: &str) -> Self {
        Watched {
            path: dir.join(name),
            read: None,
            content: None,
            reported: None,
            limit: MAX_FILE_BYTES,
        }
    }

    /// The file's content parsed with `parse` when it changed since the last poll and is good.
    fn poll<T>(&mut self, parse: impl Fn(&str) -> Result<T, ContentError>) -> Option<T> {
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                self.read = None;
                if self.first_report_of(Finding::Missing) {
                    tracing::info!("waiting for {} to be written", self.path.display());
                }
                return None;
            }
            Err(error) => {
                self.warn(Finding::Unreadable, &error);
                return None;
            }
        };
        let signature = Signature::of(&meta);
        if !meta.is_file() {
            let error = ReadError::NotRegular {
                kind: file_kind(&meta),
            };
            self.warn(Finding::NotRegular(signature), &error);
            return None;
        }
        if signature.len > self.limit {
            let error = ReadError::TooLarge { len: signature.len };
            self.warn(Finding::TooLarge(signature), &error);
            return None;
        }
        if !must_read(
            self.read.map(|(s, _)| s),
            signature,
            self.read.map(|(_, t)| t),
        ) {
            return None;
        }
        let began = SystemTime::now();
        let bytes = match read_regular(&self.path, self.limit) {
            Ok(bytes) => bytes,
            Err(error) => {
                let finding = match error {
                    ReadError::NotRegular { .. } => Finding::NotRegular(signature),
                    ReadError::TooLarge { .. } => Finding::TooLarge(signature),
                    ReadError::Io(_) => Finding::Unreadable,
                };
                self.warn(finding, &error);
                return None;
            }
        };
        self.read = Some((signature, began));
        let hash = hash(&bytes);
        if self.content == Some(hash) {
            return None;
        }
        self.content = Some(hash);
        let parsed = std::str::from_utf8(&bytes)
            .map_err(|error| ContentError::Utf8 {
                at: error.valid_up_to(),
            })
            .and_then(&parse);
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.warn(Finding::Content(hash), &error);
                None
            }
        }
    }

    fn warn(&mut self, finding: Finding, error: &dyn std::fmt::Display) {
        if self.first_report_of(finding) {
            tracing::warn!(
                "{}: {error}; keeping the last good data",
                self.path.display()
            );
        }
    }

    /// Whether `finding` has not been reported yet (and now counts as reported).
    fn first_report_of(&mut self, finding: Finding) -> bool {
        let first = self.reported != Some(finding);
        self.reported = Some(finding);
        first
    }
}

/// Reads a regular file of at most `limit` bytes. The file is opened without waiting (a FIFO
/// put in its place between the check and the open would otherwise block the poller for good)
/// and its type is checked on the open file, behind any symbolic link.
///
/// # Errors
/// [`ReadError`] when it is not a regular file, holds more than `limit` bytes, or cannot be read.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut options = fs::File::options();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: file_kind(&meta),
        });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { len: meta.len() });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows while it is read stops at the limit too.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            len: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn file_kind(meta: &fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

fn hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// Polls a folder of JSON files into a [`LiveFeed`].
pub struct JsonDir {
    dir: PathBuf,
    feed: LiveFeed,
    bars_file: Watched,
    metrics_file: Watched,
    depth_file: Watched,
    footprint_file: Watched,
    /// What the feed holds, mirrored to compare new file content with.
    bars: BTreeMap<Millis, Bar>,
    metric_bars: BTreeMap<Millis, MetricBar>,
    footprints: BTreeMap<Millis, FootprintBar>,
    depth: Depth,
}

impl JsonDir {
    pub fn new(dir: impl Into<PathBuf>, feed: LiveFeed) -> Self {
        let dir = dir.into();
        JsonDir {
            bars_file: Watched::new(&dir, OHLC_FILE),
            metrics_file: Watched::new(&dir, METRICS_FILE),
            depth_file: Watched::new(&dir, DEPTH_FILE),
            footprint_file: Watched {
                limit: MAX_FOOTPRINT_BYTES,
                ..Watched::new(&dir, FOOTPRINT_FILE)
            },
            dir,
            feed,
            bars: BTreeMap::new(),
            metric_bars: BTreeMap::new(),
            footprints: BTreeMap::new(),
            depth: Depth::default(),
        }
    }

    /// The status shown while watching: the files carry no instrument or range.
    pub fn status(&self) -> Status {
        let newest = self
            .bars
            .keys()
            .chain(self.metric_bars.keys())
            .max()
            .copied();
        Status {
            replay_ts: newest,
            phase: Phase::Processing,
            message: format!("showing the JSON files in {}", self.dir.display()),
            ..Status::default()
        }
    }

    /// Reads the files that changed and passes what is new to the feed. Returns whether
    /// anything was passed on.
    pub fn poll(&mut self) -> bool {
        let bars = self
            .bars_file
            .poll(parse_bars)
            .map(|rows| merge(&mut self.bars, rows, |b| b.ts));
        let metrics = self
            .metrics_file
            .poll(parse_metrics)
            .map(|rows| merge(&mut self.metric_bars, rows, |m| m.ts));
        let depth = self
            .depth_file
            .poll(parse_depth)
            .filter(|depth| *depth != self.depth);
        if let Some(depth) = &depth {
            self.depth = depth.clone();
        }
        // `footprint_data.json` is optional: a writer of the seed's schema alone has none.
        let footprints = self
            .footprint_file
            .poll(parse_footprints)
            .map(|rows| merge(&mut self.footprints, rows, |f| f.ts));
        let started_over = matches!(bars, Some(Merged::StartedOver))
            || matches!(metrics, Some(Merged::StartedOver))
            || matches!(footprints, Some(Merged::StartedOver));
        if started_over {
            let footprints = self.footprints.values().cloned().collect();
            self.feed.replace_footprints(footprints);
            let bars = self.bars.values().copied().collect();
            let metric_bars = self.metric_bars.values().copied().collect();
            self.feed
                .reset(bars, metric_bars, self.depth.clone(), self.status());
            return true;
        }
        let (bars, metric_bars) = (changed(bars), changed(metrics));
        let footprints = changed(footprints);
        if bars.is_empty() && metric_bars.is_empty() && footprints.is_empty() && depth.is_none() {
            return false;
        }
        self.feed.publish(Update {
            bars,
            metric_bars,
            footprints,
            prints: Default::default(),
            depth: self.depth.clone(),
            status: self.status(),
        });
        true
    }
}

fn changed<T>(merged: Option<Merged<T>>) -> Vec<T> {
    match merged {
        Some(Merged::Changed(rows)) => rows,
        _ => Vec::new(),
    }
}

/// Polls until the task is dropped (or aborted).
pub async fn watch(mut dir: JsonDir, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        // File reads block; keep them off the threads that serve the browser.
        dir = match tokio::task::spawn_blocking(move || {
            dir.poll();
            dir
        })
        .await
        {
            Ok(dir) => dir,
            Err(_) => return,
        };
    }
}

#[derive(Debug, PartialEq)]
enum Merged<T> {
    /// The file goes on from what was known: these rows are new or changed.
    Changed(Vec<T>),
    /// The file does not go on from what was known: `known` was replaced by it.
    StartedOver,
}

/// Merges the rows of a file (sorted, one per window) into the `known` rows (see the module
/// doc for when a file "goes on" from what is known).
fn merge<T: Clone + PartialEq>(
    known: &mut BTreeMap<Millis, T>,
    rows: Vec<T>,
    ts: impl Fn(&T) -> Millis,
) -> Merged<T> {
    let goes_on = match rows.first() {
        _ if known.is_empty() => true,
        None => false,
        Some(first) => {
            let from = ts(first);
            let in_file: std::collections::BTreeSet<Millis> = rows.iter().map(&ts).collect();
            known.contains_key(&from)
                && known
                    .range(from..)
                    .all(|(window, _)| in_file.contains(window))
        }
    };
    if !goes_on {
        *known = rows.into_iter().map(|row| (ts(&row), row)).collect();
        return Merged::StartedOver;
    }
    let changed: Vec<T> = rows
        .into_iter()
        .filter(|row| known.get(&ts(row)) != Some(row))
        .collect();
    for row in &changed {
        known.insert(ts(row), row.clone());
    }
    Merged::Changed(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: Millis, close: f64) -> Bar {
        Bar {
            ts,
            open: 100.0,
            high: 101.0,
            low: 99.0,
            close,
            volume: 1.5,
        }
    }

    fn bars_json(bars: &[Bar]) -> String {
        let mut text = String::new();
        crate::output::seed_json::render_bars(&mut text, bars).unwrap();
        text
    }

    /// Writes a file as a plain (non-atomic) writer would, with a distinct modification time.
    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        let before = fs::metadata(&path).and_then(|m| m.modified()).ok();
        fs::write(&path, text).unwrap();
        if let Some(before) = before {
            // Coarse file-system clocks could leave the time unchanged; move it on for sure.
            let later = before + Duration::from_secs(1);
            fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(later)
                .unwrap();
        }
    }

    #[test]
    fn a_half_written_file_keeps_the_last_good_data() {
        let tmp = tempfile::tempdir().unwrap();
        let feed = LiveFeed::new(Status::default());
        let mut dir = JsonDir::new(tmp.path(), feed.clone());
        assert!(!dir.poll(), "no files yet");

        write(
            tmp.path(),
            OHLC_FILE,
            &bars_json(&[bar(0, 100.0), bar(60_000, 101.0)]),
        );
        assert!(dir.poll());
        assert_eq!(feed.snapshot().bars.len(), 2);
        assert!(!dir.poll(), "unchanged file is not read again");

        write(
            tmp.path(),
            OHLC_FILE,
            "[[0, 100, 101, 99, 100, 1.5], [60000, 100,",
        );
        assert!(!dir.poll());
        assert_eq!(
            feed.snapshot().bars,
            vec![bar(0, 100.0), bar(60_000, 101.0)]
        );

        write(
            tmp.path(),
            OHLC_FILE,
            &bars_json(&[bar(0, 100.0), bar(60_000, 102.0), bar(120_000, 103.0)]),
        );
        let mut changes = feed.subscribe();
        assert!(dir.poll());
        assert_eq!(feed.snapshot().bars.len(), 3);
        let change = changes.try_recv().unwrap();
        match &change.kind {
            crate::output::live::ChangeKind::Update(update) => {
                assert_eq!(
                    update.bars,
                    vec![bar(60_000, 102.0), bar(120_000, 103.0)],
                    "only what changed"
                )
            }
            other => panic!("expected an update, got {other:?}"),
        }
    }

    /// Polls on a thread of its own: a poll that blocks fails the test instead of hanging it.
    fn poll_within_a_second(dir: JsonDir) -> (JsonDir, bool) {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut dir = dir;
            let changed = dir.poll();
            let _ = done.send((dir, changed));
        });
        result
            .recv_timeout(Duration::from_secs(1))
            .expect("a poll never blocks")
    }

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let feed = LiveFeed::new(Status::default());
        let fifo = std::ffi::CString::new(
            tmp.path()
                .join(OHLC_FILE)
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::os::unix::fs::symlink("/dev/zero", tmp.path().join(METRICS_FILE)).unwrap();
        let huge = fs::File::create(tmp.path().join(DEPTH_FILE)).unwrap();
        huge.set_len(MAX_FILE_BYTES + 1).unwrap();

        let (dir, changed) = poll_within_a_second(JsonDir::new(tmp.path(), feed.clone()));
        assert!(!changed);
        let (_, changed) = poll_within_a_second(dir);
        assert!(!changed);
        for (name, expected) in [
            (OHLC_FILE, "not a regular file but a FIFO"),
            (METRICS_FILE, "not a regular file but a device"),
            (DEPTH_FILE, "4194305 bytes, more than the 4194304 bytes"),
        ] {
            let error = read_regular(&tmp.path().join(name), MAX_FILE_BYTES).unwrap_err();
            assert!(error.to_string().starts_with(expected), "{name}: {error}");
        }
        assert_eq!(feed.snapshot().seq, 0, "nothing reached the feed");
    }

    #[test]
    fn a_same_length_rewrite_that_kept_the_times_is_seen() {
        let tmp = tempfile::tempdir().unwrap();
        let feed = LiveFeed::new(Status::default());
        let mut dir = JsonDir::new(tmp.path(), feed.clone());
        let path = tmp.path().join(OHLC_FILE);
        fs::write(&path, bars_json(&[bar(0, 100.0)])).unwrap();
        let modified = fs::metadata(&path).unwrap().modified().unwrap();
        assert!(dir.poll());

        // Rewritten in place within one tick of the file-system clock: same length, same time.
        fs::write(&path, bars_json(&[bar(0, 200.0)])).unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(modified).unwrap();
        assert!(dir.poll());
        assert_eq!(feed.snapshot().bars, vec![bar(0, 200.0)]);
        assert!(!dir.poll(), "the same content is not taken twice");
    }

    #[test]
    fn a_file_is_read_again_while_a_rewrite_could_hide_in_its_timestamps() {
        let at = |secs| Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        let signature = |len, changed| Signature {
            len,
            modified: at(100),
            changed,
            inode: Some((1, 2)),
        };
        for (name, last, now, verified_at, expected) in [
            ("never read", None, signature(10, at(100)), None, true),
            (
                "other length",
                Some(signature(9, at(100))),
                signature(10, at(100)),
                at(200),
                true,
            ),
            (
                "other ctime",
                Some(signature(10, at(101))),
                signature(10, at(150)),
                at(200),
                true,
            ),
            (
                "same, read long after",
                Some(signature(10, at(100))),
                signature(10, at(100)),
                at(200),
                false,
            ),
            (
                "same, read within the margin",
                Some(signature(10, at(100))),
                signature(10, at(100)),
                at(101),
                true,
            ),
            (
                "same, no time to trust",
                Some(signature(10, None)),
                Signature {
                    modified: None,
                    ..signature(10, None)
                },
                at(200),
                true,
            ),
        ] {
            assert_eq!(must_read(last, now, verified_at), expected, "{name}");
        }
    }

    #[test]
    fn keeps_bars_that_scrolled_out_of_the_file_and_starts_over_on_a_new_run() {
        let mut known = BTreeMap::new();
        let rows =
            |range: std::ops::Range<i64>| range.map(|i| bar(i * 60_000, 1.0)).collect::<Vec<_>>();
        assert_eq!(
            merge(&mut known, rows(0..1000), |b| b.ts),
            Merged::Changed(rows(0..1000))
        );
        assert_eq!(
            merge(&mut known, rows(5..1005), |b| b.ts),
            Merged::Changed(rows(1000..1005))
        );
        assert_eq!(known.len(), 1005, "bars older than the file's are kept");
        assert_eq!(
            merge(&mut known, vec![], |b| b.ts),
            Merged::StartedOver,
            "the files were reset"
        );
        assert!(known.is_empty());
        merge(&mut known, rows(0..10), |b| b.ts);
        assert_eq!(
            merge(&mut known, rows(3..6), |b| b.ts),
            Merged::StartedOver,
            "bars vanished"
        );
        assert_eq!(
            merge(&mut known, rows(100..110), |b| b.ts),
            Merged::StartedOver,
            "another range"
        );
        assert_eq!(known.len(), 10);
    }
}
