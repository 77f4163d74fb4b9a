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
                let overlaps = overlaps(info.range);
                let (status, held) = match (overlaps, info.range) {
                    (true, _) => (FileStatus::Used, None),
                    (false, Some(_)) => (FileStatus::OutOfRange, None),
                    (false, None) => held_instead(&recording, &job.instrument),
                };
                let mut file = FileSummary::from_info(recording.info(), status);
                file.warnings.extend(held);
                // Logged once per file, here: a file is opened once per run.
                for note in file.unit_conversions.iter().chain(&file.warnings) {
                    tracing::warn!("{}: {note}", path.display());
                }
                summary.files.push(file);
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

/// The status of a file with no valid timestamp of `instrument`, and what it holds instead:
/// [`FileStatus::NoRowsOfInstrument`] with a warning naming the other instruments, or
/// [`FileStatus::OutOfRange`] when its rows of `instrument` all have bad timestamps.
fn held_instead(recording: &Recording, instrument: &str) -> (FileStatus, Option<String>) {
    let others = match recording.other_instruments() {
        Ok(Some(others)) => others,
        Ok(None) => return (FileStatus::OutOfRange, None),
        Err(error) => {
            tracing::warn!("{error}");
            return (FileStatus::OutOfRange, None);
        }
    };
    let shown: Vec<&str> = others.iter().take(3).map(String::as_str).collect();
    let warning = match (shown.is_empty(), others.len() > shown.len()) {
        (true, _) => format!("holds no rows of {instrument}: its tables are empty"),
        (false, false) => format!(
            "holds no rows of {instrument}, only rows of {}",
            shown.join(", ")
        ),
        (false, true) => format!(
            "holds no rows of {instrument}, only rows of {} and others",
            shown.join(", ")
        ),
    };
    (FileStatus::NoRowsOfInstrument, Some(warning))
}

fn order_key(info: &FileInfo) -> (Option<Millis>, &Path) {
    (info.first_ts, &info.path)
}

/// Files whose ranges overlap are all used, with one warning per file that names how many
/// others it overlaps and one of them (SPEC 1.1); a sweep over the ranges sorted by start, so
/// thousands of files of one day cost no more than sorting them.
fn warn_of_overlaps(used: &[(usize, Recording)], summary: &mut RunSummary) {
    let ranges: Vec<(Millis, Millis, usize)> = used
        .iter()
        .enumerate()
        .filter_map(|(at, (_, recording))| recording.info().range.map(|(lo, hi)| (lo, hi, at)))
        .collect();
    let mut by_start = ranges.clone();
    by_start.sort_unstable();
    let starts: Vec<Millis> = by_start.iter().map(|r| r.0).collect();
    let mut ends: Vec<Millis> = by_start.iter().map(|r| r.1).collect();
    ends.sort_unstable();
    // The file ending latest among those that start at or before each one.
    let mut latest: Option<(Millis, usize)> = None;
    let mut warned = 0;
    for (i, &(lo, hi, at)) in by_start.iter().enumerate() {
        // Ranges that start at or before this one ends, less those that end before it starts,
        // less itself.
        let others = starts.partition_point(|&s| s <= hi) - ends.partition_point(|&e| e < lo) - 1;
        let partner = match latest {
            Some((end, other)) if end >= lo => Some(other),
            _ => by_start
                .get(i + 1)
                .filter(|next| next.0 <= hi)
                .map(|next| next.2),
        };
        if latest.is_none_or(|(end, _)| hi > end) {
            latest = Some((hi, at));
        }
        let (true, Some(partner)) = (others > 0, partner) else {
            continue;
        };
        let warning = format!(
            "overlaps {others} other file{} in time (such as {}); all are used, and bars of the same window are merged",
            if others == 1 { "" } else { "s" },
            used[partner].1.info().path.display()
        );
        let (index, recording) = &used[at];
        tracing::warn!("{}: {warning}", recording.info().path.display());
        summary.files[*index].warnings.push(warning);
        warned += 1;
    }
    if warned > 1 {
        tracing::warn!("{warned} files overlap others in time");
    }
}
