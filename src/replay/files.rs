//! Which files a run reads, and in which order (SPEC 1.1): the candidates whose data overlaps
//! the range, by their first book timestamp, each recorded in the summary.

use std::path::{Path, PathBuf};

use super::summary::{FileStatus, FileSummary, RunSummary};
use crate::engine::Millis;
use crate::source::{FileError, FileInfo, Recording};

use super::job::Job;

/// Opens every candidate, keeps those whose data overlaps the range, in processing order
/// (first book timestamp, then path), and records every candidate in the summary.
pub(super) fn open_in_range(
    candidates: &[PathBuf],
    job: &Job,
    summary: &mut RunSummary,
) -> Vec<(usize, Recording)> {
    let (start, end) = (job.config.start, job.config.end);
    let mut used = Vec::new();
    for path in candidates {
        match Recording::open(path, &job.instrument) {
            // The run was told to stop while SQLite was at work: no fault of the file.
            Err(FileError::Interrupted { .. }) => break,
            Err(error) => {
                tracing::error!("{error}");
                let mut file = FileSummary::new(path, FileStatus::Unusable);
                file.error = Some(error.to_string());
                summary.files.push(file);
            }
            Ok(mut recording) => {
                let overlaps = |range: Option<(Millis, Millis)>| {
                    range.is_some_and(|(first, last)| first < end && last >= start)
                };
                // The ends by `id` of a table not in time order by `id` may hide data in
                // range (SPEC 1.1): before passing a file over, its true ends are scanned.
                if !overlaps(recording.info().range) && recording.info().range.is_some() {
                    if let Err(error) = recording.scan_range() {
                        tracing::warn!("{error}");
                    }
                }
                let info = recording.info();
                for warning in &info.warnings {
                    tracing::warn!("{}: {warning}", path.display());
                }
                let overlaps = overlaps(info.range);
                let status = if overlaps {
                    FileStatus::Used
                } else {
                    FileStatus::OutOfRange
                };
                summary.files.push(FileSummary::from_info(info, status));
                if overlaps {
                    used.push((summary.files.len() - 1, recording));
                }
            }
        }
    }
    used.sort_by(|(_, a), (_, b)| order_key(a.info()).cmp(&order_key(b.info())));
    warn_of_overlaps(&used, summary);
    used
}

fn order_key(info: &FileInfo) -> (Option<Millis>, &Path) {
    (info.first_ts, &info.path)
}

/// Two files whose ranges overlap are both used, with a warning (SPEC 1.1).
fn warn_of_overlaps(used: &[(usize, Recording)], summary: &mut RunSummary) {
    for (i, (index_a, a)) in used.iter().enumerate() {
        for (index_b, b) in &used[i + 1..] {
            let (Some((a_first, a_last)), Some((b_first, b_last))) =
                (a.info().range, b.info().range)
            else {
                continue;
            };
            if a_first <= b_last && b_first <= a_last {
                let warning = format!(
                    "{} and {} overlap in time; both are used, and bars of the same window are merged",
                    a.info().path.display(),
                    b.info().path.display()
                );
                tracing::warn!("{warning}");
                summary.files[*index_a].warnings.push(warning.clone());
                summary.files[*index_b].warnings.push(warning);
            }
        }
    }
}
