//! `orderflow serve`: feeds a [`LiveFeed`] from the seed's JSON files (SPEC 3.1) that a
//! `process` run, or any writer of that schema, keeps rewriting in a folder.
//!
//! The folder is polled (every [`POLL_EVERY`]); a file whose modification time and length are
//! unchanged is not read again. A file that is missing, caught half-written or invalid leaves
//! the last good data in place and is reported once per version, not at every poll.
//!
//! The files hold only the newest 1000 bars; the feed keeps older ones as long as the files go
//! on from what it has (the newest file's first bar is one it knows, and every bar it knows
//! from there on is still in the file). Anything else means the writer started over (a new
//! run resets the files): then the feed is replaced by the files' content.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use std::{fs, io};

use crate::engine::{Bar, Depth, Level, MetricBar, Millis, Ohlc};
use crate::output::live::{LiveFeed, Phase, Status, Update};

pub const POLL_EVERY: Duration = Duration::from_millis(500);
pub const BARS_FILE: &str = "ohlc_data.json";
pub const METRICS_FILE: &str = "metrics_data.json";
pub const DEPTH_FILE: &str = "depth_data.json";

/// Why a file's content was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("not valid JSON of the expected shape ({0}); a writer may be halfway through it")]
    Json(#[from] serde_json::Error),
    #[error("row {row}: expected {expected} numbers, found {found}")]
    RowLength {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("row {row}: the timestamp {ts} is not a whole number of ms")]
    Timestamp { row: usize, ts: f64 },
}

/// Reads `[[ts, open, high, low, close, volume], ...]`.
///
/// # Errors
/// When the text is not that shape (extra trailing numbers in a row are ignored).
pub fn parse_bars(text: &str) -> Result<Vec<Bar>, ContentError> {
    rows(text, 6, |ts, v| Bar {
        ts,
        open: v[1],
        high: v[2],
        low: v[3],
        close: v[4],
        volume: v[5],
    })
}

/// Reads `[[ts, obi_o, obi_h, obi_l, obi_c, cvd_o, cvd_h, cvd_l, cvd_c], ...]`.
///
/// # Errors
/// When the text is not that shape.
pub fn parse_metrics(text: &str) -> Result<Vec<MetricBar>, ContentError> {
    rows(text, 9, |ts, v| MetricBar {
        ts,
        obi: Ohlc {
            open: v[1],
            high: v[2],
            low: v[3],
            close: v[4],
        },
        cvd: Ohlc {
            open: v[5],
            high: v[6],
            low: v[7],
            close: v[8],
        },
    })
}

/// Reads `{"bids": [[price, size], ...], "asks": [[price, size], ...]}`.
///
/// # Errors
/// When the text is not that shape.
pub fn parse_depth(text: &str) -> Result<Depth, ContentError> {
    #[derive(serde::Deserialize)]
    struct Sides {
        bids: Vec<Vec<f64>>,
        asks: Vec<Vec<f64>>,
    }
    let sides: Sides = serde_json::from_str(text)?;
    let levels = |side: Vec<Vec<f64>>| -> Result<Vec<Level>, ContentError> {
        side.into_iter()
            .enumerate()
            .map(|(row, level)| match level[..] {
                [price, size, ..] => Ok(Level { price, size }),
                _ => Err(ContentError::RowLength {
                    row,
                    expected: 2,
                    found: level.len(),
                }),
            })
            .collect()
    };
    Ok(Depth {
        bids: levels(sides.bids)?,
        asks: levels(sides.asks)?,
    })
}

/// Rows of at least `width` numbers whose first is an integer timestamp; sorted by it, the
/// last row of a timestamp wins.
fn rows<T>(
    text: &str,
    width: usize,
    make: impl Fn(Millis, &[f64]) -> T,
) -> Result<Vec<T>, ContentError> {
    let rows: Vec<Vec<f64>> = serde_json::from_str(text)?;
    let mut by_ts = BTreeMap::new();
    for (row, values) in rows.iter().enumerate() {
        if values.len() < width {
            return Err(ContentError::RowLength {
                row,
                expected: width,
                found: values.len(),
            });
        }
        let ts = values[0];
        // Beyond 2^53 an f64 no longer holds every integer; no real timestamp in ms is there.
        if ts.fract() != 0.0 || ts.abs() > 9.0e15 {
            return Err(ContentError::Timestamp { row, ts });
        }
        by_ts.insert(ts as Millis, make(ts as Millis, values));
    }
    Ok(by_ts.into_values().collect())
}

/// What a file looked like at one poll: its version is (modification time, length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Missing,
    /// The file's metadata could not be read (permissions, ...).
    Unreadable,
    Present {
        modified: Option<SystemTime>,
        len: u64,
    },
}

/// One of the three files, with what was seen and reported of it.
struct Watched {
    path: PathBuf,
    seen: Option<Version>,
    reported: Option<Version>,
}

impl Watched {
    fn new(dir: &Path, name: &str) -> Self {
        Watched {
            path: dir.join(name),
            seen: None,
            reported: None,
        }
    }

    /// The file's content parsed with `parse` when it changed since the last poll and is good.
    fn poll<T>(&mut self, parse: impl Fn(&str) -> Result<T, ContentError>) -> Option<T> {
        let version = match fs::metadata(&self.path) {
            Ok(meta) => Version::Present {
                modified: meta.modified().ok(),
                len: meta.len(),
            },
            Err(error) if error.kind() == io::ErrorKind::NotFound => Version::Missing,
            Err(error) => {
                if self.first_report_of(Version::Unreadable) {
                    tracing::warn!(
                        "cannot read {}: {error}; keeping the last good data",
                        self.path.display()
                    );
                }
                return None;
            }
        };
        if self.seen == Some(version) {
            return None;
        }
        self.seen = Some(version);
        if version == Version::Missing {
            if self.first_report_of(version) {
                tracing::info!("waiting for {} to be written", self.path.display());
            }
            return None;
        }
        let parsed = fs::read_to_string(&self.path)
            .map_err(|error| error.to_string())
            .and_then(|text| parse(&text).map_err(|error| error.to_string()));
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                if self.first_report_of(version) {
                    tracing::warn!(
                        "{}: {error}; keeping the last good data",
                        self.path.display()
                    );
                }
                None
            }
        }
    }

    /// Whether this bad `version` of the file has not been reported yet (and now counts as
    /// reported).
    fn first_report_of(&mut self, version: Version) -> bool {
        let first = self.reported != Some(version);
        self.reported = Some(version);
        first
    }
}

/// Polls a folder of JSON files into a [`LiveFeed`].
pub struct JsonDir {
    dir: PathBuf,
    feed: LiveFeed,
    bars_file: Watched,
    metrics_file: Watched,
    depth_file: Watched,
    /// What the feed holds, mirrored to compare new file content with.
    bars: BTreeMap<Millis, Bar>,
    metric_bars: BTreeMap<Millis, MetricBar>,
    depth: Depth,
}

impl JsonDir {
    pub fn new(dir: impl Into<PathBuf>, feed: LiveFeed) -> Self {
        let dir = dir.into();
        JsonDir {
            bars_file: Watched::new(&dir, BARS_FILE),
            metrics_file: Watched::new(&dir, METRICS_FILE),
            depth_file: Watched::new(&dir, DEPTH_FILE),
            dir,
            feed,
            bars: BTreeMap::new(),
            metric_bars: BTreeMap::new(),
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
        let started_over = matches!(bars, Some(Merged::StartedOver))
            || matches!(metrics, Some(Merged::StartedOver));
        if started_over {
            let bars = self.bars.values().copied().collect();
            let metric_bars = self.metric_bars.values().copied().collect();
            self.feed
                .reset(bars, metric_bars, self.depth.clone(), self.status());
            return true;
        }
        let (bars, metric_bars) = (changed(bars), changed(metrics));
        if bars.is_empty() && metric_bars.is_empty() && depth.is_none() {
            return false;
        }
        self.feed.publish(Update {
            bars,
            metric_bars,
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
fn merge<T: Copy + PartialEq>(
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
        known.insert(ts(row), *row);
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
        serde_json::to_string(&crate::web::json::bar_rows(bars)).unwrap()
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
    fn parses_the_seed_schemas() {
        assert_eq!(
            parse_bars("[[60000, 100, 101, 99, 100.5, 2.5], [0, 1, 1, 1, 1, 1]]").unwrap(),
            vec![
                Bar {
                    ts: 0,
                    open: 1.0,
                    high: 1.0,
                    low: 1.0,
                    close: 1.0,
                    volume: 1.0
                },
                Bar {
                    ts: 60_000,
                    open: 100.0,
                    high: 101.0,
                    low: 99.0,
                    close: 100.5,
                    volume: 2.5
                },
            ]
        );
        let metrics = parse_metrics("[[0, 0.1, 0.2, -0.1, 0.0, 0, 5, -1, 4]]").unwrap();
        assert_eq!(
            metrics[0].cvd,
            Ohlc {
                open: 0.0,
                high: 5.0,
                low: -1.0,
                close: 4.0
            }
        );
        let depth =
            parse_depth(r#"{"bids": [[99.5, 2]], "asks": [[100.5, 1], [101, 3]]}"#).unwrap();
        assert_eq!(
            (depth.bids.len(), depth.asks[1]),
            (
                1,
                Level {
                    price: 101.0,
                    size: 3.0
                }
            )
        );
    }

    #[test]
    fn rejects_what_is_not_the_seed_schema() {
        for (name, text) in [
            ("half written", "[[0, 1, 1, 1, 1, 1], [60000, 1,"),
            ("empty", ""),
            ("short row", "[[0, 1, 1, 1, 1]]"),
            ("fractional ts", "[[0.5, 1, 1, 1, 1, 1]]"),
            ("null value", "[[0, null, 1, 1, 1, 1]]"),
            ("object", r#"{"bars": []}"#),
        ] {
            assert!(parse_bars(text).is_err(), "{name}");
        }
        assert!(parse_depth(r#"{"bids": [[1]], "asks": []}"#).is_err());
    }

    #[test]
    fn a_half_written_file_keeps_the_last_good_data() {
        let tmp = tempfile::tempdir().unwrap();
        let feed = LiveFeed::new(Status::default());
        let mut dir = JsonDir::new(tmp.path(), feed.clone());
        assert!(!dir.poll(), "no files yet");

        write(
            tmp.path(),
            BARS_FILE,
            &bars_json(&[bar(0, 100.0), bar(60_000, 101.0)]),
        );
        assert!(dir.poll());
        assert_eq!(feed.snapshot().bars.len(), 2);
        assert!(!dir.poll(), "unchanged file is not read again");

        write(
            tmp.path(),
            BARS_FILE,
            "[[0, 100, 101, 99, 100, 1.5], [60000, 100,",
        );
        assert!(!dir.poll());
        assert_eq!(
            feed.snapshot().bars,
            vec![bar(0, 100.0), bar(60_000, 101.0)]
        );

        write(
            tmp.path(),
            BARS_FILE,
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
