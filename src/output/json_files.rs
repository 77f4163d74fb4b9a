//! The seed's IPC: `ohlc_data.json`, `metrics_data.json` and `depth_data.json`, written
//! atomically (SPEC 3.1).
//!
//! Every write goes to a temporary file in the same folder and is then renamed over the old
//! file, so a reader polling the folder sees either the old or the new content, never a part.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::engine::{Bar, Depth, MetricBar};

/// The bar lists keep the newest this many bars (the seed's bound).
pub const MAX_BARS: usize = 1000;

pub const OHLC_FILE: &str = "ohlc_data.json";
pub const METRICS_FILE: &str = "metrics_data.json";
pub const DEPTH_FILE: &str = "depth_data.json";

/// A JSON file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path} (is the folder writable, and is the disk full?)")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// The three JSON files in one folder.
#[derive(Debug)]
pub struct JsonFiles {
    dir: PathBuf,
    /// Reused text buffer: one allocation for the whole run.
    text: String,
}

impl JsonFiles {
    /// Creates `dir` if needed and resets the three files to empty.
    ///
    /// # Errors
    /// When the folder cannot be created or a file in it cannot be written.
    pub fn create(dir: &Path) -> Result<JsonFiles, WriteError> {
        fs::create_dir_all(dir).map_err(|source| WriteError {
            path: dir.to_owned(),
            source,
        })?;
        let mut files = JsonFiles {
            dir: dir.to_owned(),
            text: String::new(),
        };
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
        self.text.clear();
        ohlc_json(&mut self.text, bars);
        write_atomic(&self.dir.join(OHLC_FILE), self.text.as_bytes())?;

        self.text.clear();
        metrics_json(&mut self.text, metric_bars);
        write_atomic(&self.dir.join(METRICS_FILE), self.text.as_bytes())?;

        self.text.clear();
        depth_json(&mut self.text, depth);
        write_atomic(&self.dir.join(DEPTH_FILE), self.text.as_bytes())
    }
}

/// `[[ts, open, high, low, close, volume], ...]`
pub fn ohlc_json<'a>(out: &mut String, bars: impl IntoIterator<Item = &'a Bar>) {
    rows_json(out, bars, |out, bar| {
        row(
            out,
            bar.ts,
            &[bar.open, bar.high, bar.low, bar.close, bar.volume],
        );
    });
}

/// `[[ts, obi_open, obi_high, obi_low, obi_close, cvd_open, cvd_high, cvd_low, cvd_close], ...]`
pub fn metrics_json<'a>(out: &mut String, metric_bars: impl IntoIterator<Item = &'a MetricBar>) {
    rows_json(out, metric_bars, |out, bar| {
        let (obi, cvd) = (bar.obi, bar.cvd);
        row(
            out,
            bar.ts,
            &[
                obi.open, obi.high, obi.low, obi.close, cvd.open, cvd.high, cvd.low, cvd.close,
            ],
        );
    });
}

/// `{"bids": [[price, size], ...], "asks": [[price, size], ...]}`
pub fn depth_json(out: &mut String, depth: &Depth) {
    out.push_str("{\"bids\":[");
    for (i, level) in depth.bids.iter().enumerate() {
        levels_separator(out, i);
        pair(out, level.price, level.size);
    }
    out.push_str("],\"asks\":[");
    for (i, level) in depth.asks.iter().enumerate() {
        levels_separator(out, i);
        pair(out, level.price, level.size);
    }
    out.push_str("]}");
}

/// Writes the newest [`MAX_BARS`] items as a JSON array, one row per line.
fn rows_json<'a, T: 'a>(
    out: &mut String,
    items: impl IntoIterator<Item = &'a T>,
    mut write_row: impl FnMut(&mut String, &T),
) {
    let items: Vec<&T> = items.into_iter().collect();
    let newest = &items[items.len().saturating_sub(MAX_BARS)..];
    out.push('[');
    for (i, item) in newest.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        write_row(out, item);
    }
    out.push_str(if newest.is_empty() { "]" } else { "\n]" });
}

fn levels_separator(out: &mut String, i: usize) {
    if i > 0 {
        out.push(',');
    }
}

fn row(out: &mut String, ts: i64, values: &[f64]) {
    let _ = write!(out, "[{ts}");
    for value in values {
        out.push(',');
        number(out, *value);
    }
    out.push(']');
}

fn pair(out: &mut String, a: f64, b: f64) {
    out.push('[');
    number(out, a);
    out.push(',');
    number(out, b);
    out.push(']');
}

/// A finite JSON number in its shortest round-trip form. The engine only produces finite
/// values; should one ever not be, 0 keeps the file valid JSON rather than writing `NaN`.
fn number(out: &mut String, value: f64) {
    let value = if value.is_finite() { value } else { 0.0 };
    let mut buffer = ryu::Buffer::new();
    out.push_str(buffer.format_finite(value));
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
///
/// # Errors
/// When the temporary file cannot be written or renamed; it is removed then.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let error = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".orderflow-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(error)?;
    temp.write_all(bytes).map_err(error)?;
    temp.flush().map_err(error)?;
    temp.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Level, Ohlc};

    fn bar(ts: i64) -> Bar {
        Bar {
            ts,
            open: 1.5,
            high: 2.0,
            low: 1.0,
            close: 1.25,
            volume: 3.0,
        }
    }

    #[test]
    fn ohlc_rows_are_ts_then_five_numbers() {
        let mut out = String::new();
        ohlc_json(&mut out, &[bar(60_000), bar(120_000)]);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!([
                [60000, 1.5, 2.0, 1.0, 1.25, 3.0],
                [120000, 1.5, 2.0, 1.0, 1.25, 3.0]
            ])
        );
        assert!(out.contains("[60000,"), "ts is an integer: {out}");
    }

    #[test]
    fn only_the_newest_thousand_bars_are_written_oldest_first() {
        let bars: Vec<Bar> = (0..1500).map(|i| bar(i * 60_000)).collect();
        let mut out = String::new();
        ohlc_json(&mut out, &bars);
        let parsed: Vec<Vec<f64>> = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed.len(), MAX_BARS);
        assert_eq!(parsed[0][0], 500.0 * 60_000.0);
        assert_eq!(parsed[999][0], 1499.0 * 60_000.0);
    }

    #[test]
    fn metrics_rows_are_ts_then_obi_then_cvd() {
        let obi = Ohlc {
            open: 0.5,
            high: 0.75,
            low: -0.25,
            close: 0.0,
        };
        let cvd = Ohlc {
            open: -1.0,
            high: 2.0,
            low: -3.0,
            close: 1.0,
        };
        let mut out = String::new();
        metrics_json(&mut out, &[MetricBar { ts: 0, obi, cvd }]);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!([[0, 0.5, 0.75, -0.25, 0.0, -1.0, 2.0, -3.0, 1.0]])
        );
    }

    #[test]
    fn depth_is_an_object_of_bids_and_asks() {
        let depth = Depth {
            bids: vec![
                Level {
                    price: 100.5,
                    size: 1.0,
                },
                Level {
                    price: 100.0,
                    size: 2.0,
                },
            ],
            asks: vec![Level {
                price: 101.0,
                size: 0.25,
            }],
        };
        let mut out = String::new();
        depth_json(&mut out, &depth);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"bids": [[100.5, 1.0], [100.0, 2.0]], "asks": [[101.0, 0.25]]})
        );
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
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            3,
            "no temporary file left behind: {leftovers:?}"
        );
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
