//! The run summary (SPEC 3.2): what was read, what was produced, what was skipped and why.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{Integrity, Millis};
use crate::source::{BadRow, FileInfo};
use crate::time::format_ms;

/// Examples kept per skip reason.
pub const EXAMPLES_PER_REASON: usize = 5;

/// How one candidate file was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Read, in full or up to the range end.
    Used,
    /// Its data does not overlap the range.
    OutOfRange,
    /// It holds no rows of the run's instrument (only other instruments', or none at all);
    /// a warning names the instruments it holds.
    NoRowsOfInstrument,
    /// It cannot be used (not SQLite, corrupt, missing columns, ...); see `error`.
    Unusable,
    /// It turned out corrupt midway: what came before was kept; see `error`.
    FailedMidway,
}

/// Per-file part of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    pub path: PathBuf,
    pub status: FileStatus,
    /// Valid book rows applied (in range and warm-up).
    pub book_rows: u64,
    /// Valid trades taken (in range or before it).
    pub trades: u64,
    pub first_ts: Option<Millis>,
    pub last_ts: Option<Millis>,
    pub unit_conversions: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FileSummary {
    pub fn new(path: &Path, status: FileStatus) -> Self {
        FileSummary {
            path: path.to_owned(),
            status,
            book_rows: 0,
            trades: 0,
            first_ts: None,
            last_ts: None,
            unit_conversions: Vec::new(),
            warnings: Vec::new(),
            error: None,
        }
    }

    pub fn from_info(info: &FileInfo, status: FileStatus) -> Self {
        let mut file = FileSummary::new(&info.path, status);
        file.first_ts = info.range.map(|(first, _)| first);
        file.last_ts = info.range.map(|(_, last)| last);
        for (table, unit) in [("book", info.book_unit), ("trades", info.trades_unit)] {
            if let Some(unit) = unit.and_then(unit_name) {
                file.unit_conversions
                    .push(format!("{table} timestamps in {unit}, converted to ms"));
            }
        }
        file.warnings = info.warnings.clone();
        file
    }
}

/// A unit that is converted, by name; `None` for ms, which is not.
fn unit_name(unit: crate::source::TimeUnit) -> Option<&'static str> {
    use crate::source::TimeUnit;

    match unit {
        TimeUnit::Seconds => Some("seconds"),
        TimeUnit::Millis => None,
        TimeUnit::Micros => Some("microseconds"),
        TimeUnit::Nanos => Some("nanoseconds"),
    }
}

/// One skipped row, as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkipExample {
    pub file: PathBuf,
    pub table: String,
    pub row_id: i64,
    pub reason: &'static str,
    pub detail: String,
}

/// Skipped rows by reason, with the first few examples of each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub total: u64,
    pub by_reason: BTreeMap<&'static str, u64>,
    pub examples: Vec<SkipExample>,
}

impl Skipped {
    pub fn record(&mut self, file: &Path, bad: &BadRow) {
        self.total += 1;
        let count = self.by_reason.entry(bad.reason.as_str()).or_insert(0);
        *count += 1;
        if *count as usize <= EXAMPLES_PER_REASON {
            self.examples.push(SkipExample {
                file: file.to_owned(),
                table: bad.table.to_string(),
                row_id: bad.id,
                reason: bad.reason.as_str(),
                detail: bad.detail.clone(),
            });
        }
    }
}

/// One integrity finding, as an example (SPEC 10.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityExample {
    pub file: PathBuf,
    pub row_id: i64,
    /// `gap`, `reset`, `heartbeat` or `crossed`.
    pub kind: &'static str,
}

/// The integrity of the book over the range (SPEC 10.2): counts over the book rows applied in
/// range, and the first examples of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntegritySummary {
    pub gaps: u64,
    pub resets: u64,
    pub heartbeats: u64,
    /// Book rows after which the best bid was at or above the best ask.
    pub crossed: u64,
    pub examples: Vec<IntegrityExample>,
}

impl IntegritySummary {
    /// The findings of `integrity`, its examples' files named from `files` (by their number
    /// in the run).
    pub fn new(integrity: &Integrity, files: &[FileSummary]) -> Self {
        IntegritySummary {
            gaps: integrity.gaps,
            resets: integrity.resets,
            heartbeats: integrity.heartbeats,
            crossed: integrity.crossed,
            examples: integrity
                .examples
                .iter()
                .map(|example| IntegrityExample {
                    file: files
                        .get(example.file)
                        .map(|file| file.path.clone())
                        .unwrap_or_default(),
                    row_id: example.row_id,
                    kind: example.kind.as_str(),
                })
                .collect(),
        }
    }
}

/// The whole run (SPEC 3.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    pub instrument: String,
    pub start: Millis,
    pub end: Millis,
    pub files: Vec<FileSummary>,
    /// Book rows applied in the range.
    pub book_rows: u64,
    /// Book rows applied before the range start (warm-up).
    pub warmup_book_rows: u64,
    /// Trades taken in the range.
    pub trades: u64,
    /// Bars produced (all of them, not only the 1000 written).
    pub bars: u64,
    /// Bars the JSON files hold: the newest `bars`, at most 1000; absent when the run writes
    /// no JSON files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bars_in_json: Option<u64>,
    pub metric_bars: u64,
    pub skipped: Skipped,
    pub integrity: IntegritySummary,
    pub first_ts: Option<Millis>,
    pub last_ts: Option<Millis>,
    pub elapsed_ms: u64,
    /// The run was stopped (Ctrl-C, SIGTERM, SIGHUP) before it read all of its range: the
    /// outputs hold what was processed until then.
    pub interrupted: bool,
}

impl fmt::Display for RunSummary {
    /// The human summary printed at the end of `process`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} from {} to {}",
            self.instrument,
            format_ms(self.start),
            format_ms(self.end)
        )?;
        for file in &self.files {
            let status = match file.status {
                FileStatus::Used => "used",
                FileStatus::OutOfRange => "not in range",
                FileStatus::NoRowsOfInstrument => "no rows of",
                FileStatus::Unusable => "UNUSABLE",
                FileStatus::FailedMidway => "FAILED MIDWAY",
            };
            if file.status == FileStatus::NoRowsOfInstrument {
                write!(
                    f,
                    "  {} [{status} {}]",
                    file.path.display(),
                    self.instrument
                )?;
            } else {
                write!(f, "  {} [{status}]", file.path.display())?;
            }
            if file.status == FileStatus::Used || file.status == FileStatus::FailedMidway {
                write!(f, ": {} book rows, {} trades", file.book_rows, file.trades)?;
            }
            writeln!(f)?;
            for note in file
                .unit_conversions
                .iter()
                .chain(&file.warnings)
                .chain(&file.error)
            {
                writeln!(f, "      {note}")?;
            }
        }
        writeln!(
            f,
            "  {} book rows in range (+{} warm-up), {} trades -> {} bars, {} metric bars",
            self.book_rows, self.warmup_book_rows, self.trades, self.bars, self.metric_bars
        )?;
        if let Some(kept) = self.bars_in_json.filter(|kept| *kept < self.bars) {
            // The same cap holds for the metric bars.
            let metric = if self.metric_bars > kept {
                format!(" and of the {} metric bars", self.metric_bars)
            } else {
                String::new()
            };
            writeln!(
                f,
                "  the JSON files keep the newest {kept} of the {} bars{metric}",
                self.bars
            )?;
        }
        if let (Some(first), Some(last)) = (self.first_ts, self.last_ts) {
            writeln!(
                f,
                "  events from {} to {}",
                format_ms(first),
                format_ms(last)
            )?;
        }
        if self.skipped.total > 0 {
            writeln!(f, "  skipped {} bad rows:", self.skipped.total)?;
            for (reason, count) in &self.skipped.by_reason {
                writeln!(f, "      {count} {reason}")?;
            }
            for example in &self.skipped.examples {
                writeln!(
                    f,
                    "      e.g. {} {} row id {}: {} ({})",
                    example.file.display(),
                    example.table,
                    example.row_id,
                    example.reason,
                    example.detail
                )?;
            }
        }
        let integrity = &self.integrity;
        writeln!(
            f,
            "  book integrity: {} gaps, {} resets, {} heartbeats, {} crossed{}",
            integrity.gaps,
            integrity.resets,
            integrity.heartbeats,
            integrity.crossed,
            if integrity.gaps > 0 {
                " (the book was wrong after each gap until the next snapshot)"
            } else {
                ""
            }
        )?;
        for example in &integrity.examples {
            writeln!(
                f,
                "      e.g. {} book row id {}: {}",
                example.file.display(),
                example.row_id,
                example.kind
            )?;
        }
        if self.interrupted {
            writeln!(
                f,
                "  INTERRUPTED: these are the results up to the moment the run was stopped"
            )?;
        }
        write!(f, "  took {:.3} s", self.elapsed_ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{BadReason, Table};

    fn bad(id: i64, reason: BadReason) -> BadRow {
        BadRow {
            table: Table::Trades,
            id,
            reason,
            detail: String::new(),
        }
    }

    #[test]
    fn skipped_rows_are_counted_by_reason_with_the_first_few_as_examples() {
        let mut skipped = Skipped::default();
        for id in 0..20 {
            let reason = if id % 4 == 0 {
                BadReason::TradeSide
            } else {
                BadReason::Timestamp
            };
            skipped.record(Path::new("f.db"), &bad(id, reason));
        }
        assert_eq!(skipped.total, 20);
        assert_eq!(skipped.by_reason["invalid_trade_side"], 5);
        assert_eq!(skipped.by_reason["invalid_timestamp"], 15);
        let ids = |reason: &str| -> Vec<i64> {
            skipped
                .examples
                .iter()
                .filter(|e| e.reason == reason)
                .map(|e| e.row_id)
                .collect()
        };
        assert_eq!(ids("invalid_trade_side"), vec![0, 4, 8, 12, 16]);
        assert_eq!(ids("invalid_timestamp"), vec![1, 2, 3, 5, 6]);
        assert!(
            skipped
                .examples
                .iter()
                .all(|e| e.table == "trades" && e.file == Path::new("f.db"))
        );
    }
}
