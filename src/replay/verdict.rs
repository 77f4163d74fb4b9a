//! The exit verdict of a run (SPEC 4) and, when there was nothing to show, what to tell the
//! user.

use std::path::{Path, PathBuf};

use super::summary::{FileStatus, RunSummary};
use crate::time::format_ms;

use super::job::Job;

/// How a run ended, and its exit status (SPEC 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every candidate was usable and there was data in range.
    Complete,
    /// Data was processed, but some candidate file could not be used.
    UnusableFiles,
    /// No candidate file, or no valid data in the range.
    NoData,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Complete => 0,
            Verdict::UnusableFiles => 1,
            Verdict::NoData => 2,
        }
    }
}

/// The exit verdict of SPEC 4 and, when there was nothing to show, a message that says what
/// was looked at and what to do.
pub(super) fn verdict(
    job: &Job,
    summary: &RunSummary,
    candidates: &[PathBuf],
) -> (Verdict, Option<String>) {
    let range = format!(
        "{} to {}",
        format_ms(job.config.start),
        format_ms(job.config.end)
    );
    let dir = job.data_dir.display();
    if candidates.is_empty() {
        return (
            Verdict::NoData,
            Some(format!(
                "no recording of {} found in {dir} (searched recursively for .db, .sqlite and .sqlite3 \
                 files whose name holds the instrument, e.g. {}-2025-01-15.db); {}; point --data-dir \
                 or ORDERFLOW_DATA_DIR at your recordings",
                job.instrument,
                job.instrument,
                found_instead(&job.data_dir)
            )),
        );
    }
    if summary.book_rows + summary.trades == 0 {
        let looked_at: Vec<String> = summary
            .files
            .iter()
            .map(|file| match (file.status, file.first_ts, file.last_ts) {
                (FileStatus::Unusable, ..) => format!("{} (unusable)", file.path.display()),
                (_, Some(first), Some(last)) => {
                    format!(
                        "{} ({} to {})",
                        file.path.display(),
                        format_ms(first),
                        format_ms(last)
                    )
                }
                _ => format!(
                    "{} (no valid rows of {})",
                    file.path.display(),
                    job.instrument
                ),
            })
            .collect();
        return (
            Verdict::NoData,
            Some(format!(
                "no valid data of {} from {range} in {dir}; candidates looked at: {}",
                job.instrument,
                looked_at.join(", ")
            )),
        );
    }
    let unusable = summary
        .files
        .iter()
        .any(|f| matches!(f.status, FileStatus::Unusable | FileStatus::FailedMidway));
    if unusable {
        (Verdict::UnusableFiles, None)
    } else {
        (Verdict::Complete, None)
    }
}

/// Instruments named in [`found_instead`]; the rest are only counted.
const INSTRUMENTS_NAMED: usize = 3;

/// What the data folder holds instead of the run's instrument: `found 3 recordings of
/// BTC-USDT, 1 of ETH-USDT`, or that it holds no recording at all.
fn found_instead(dir: &Path) -> String {
    let counts = match crate::source::recordings_by_instrument(dir) {
        Ok(counts) => counts,
        Err(error) => return format!("the folder could not be searched again: {error}"),
    };
    if counts.is_empty() {
        return "the folder holds no recording of any instrument".to_owned();
    }
    let named: Vec<String> = counts
        .iter()
        .take(INSTRUMENTS_NAMED)
        .enumerate()
        .map(|(at, (instrument, count))| match (at, count) {
            (0, 1) => format!("1 recording of {instrument}"),
            (0, _) => format!("{count} recordings of {instrument}"),
            _ => format!("{count} of {instrument}"),
        })
        .collect();
    let others = counts.len().saturating_sub(INSTRUMENTS_NAMED);
    let more = match others {
        0 => String::new(),
        1 => " and recordings of 1 more instrument".to_owned(),
        _ => format!(" and recordings of {others} more instruments"),
    };
    format!("found {}{more}", named.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_spec() {
        assert_eq!(Verdict::Complete.exit_code(), 0);
        assert_eq!(Verdict::UnusableFiles.exit_code(), 1);
        assert_eq!(Verdict::NoData.exit_code(), 2);
    }
}
