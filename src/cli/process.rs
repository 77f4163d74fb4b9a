//! `orderflow process`: a run over the range that writes the JSON files, with no server; also
//! the summary file and exit status that `run` shares.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use orderflow::output::target::{self, Target};
use orderflow::replay::{self, RunReport, Speed};

use super::options::ProcessArgs;
use super::print::{complain, say};
use super::signals::Stop;

pub(crate) fn process(args: ProcessArgs, stop: &Stop) -> anyhow::Result<u8> {
    let json_dir = args.json_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let job = args.job(Some(json_dir), Speed::Max)?;
    check_summary_file(args.summary.as_deref(), job.json_dir.as_deref())?;
    let store = args.store.output(&job, None, &stop.cancel)?;
    let report = replay::run_with(&job, None, store.into_iter().collect(), &stop.cancel)?;
    finish(&report, args.summary.as_deref(), stop)
}

/// Refuses, before any work, a `--summary` that names a file orderflow may not replace
/// (SPEC 4; see `output::target`) or one of the run's own JSON files, and cleans up the
/// temporary files that killed runs left in its folder.
pub(crate) fn check_summary_file(
    summary_file: Option<&Path>,
    json_dir: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = summary_file.filter(|path| !is_stdout(path)) {
        if let Some(dir) = json_dir {
            if is_json_file_of(path, dir) {
                bail!(
                    "--summary {} is one of the JSON files that --json-dir {} holds: give the \
                     summary a name of its own, such as summary.json",
                    path.display(),
                    dir.display()
                );
            }
        }
        let path = target::check(path, Target::Summary)?;
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
        orderflow::output::temp::remove_stale(dir.unwrap_or(Path::new(".")));
    }
    Ok(())
}

/// Whether `--summary` names standard output (`-`).
fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Whether `path` is one of the three JSON files in `dir`: compared through links where they
/// exist, and by their components where they do not yet.
fn is_json_file_of(path: &Path, dir: &Path) -> bool {
    use orderflow::output::seed_json::{DEPTH_FILE, METRICS_FILE, OHLC_FILE};

    let summary = real_path(path);
    [OHLC_FILE, METRICS_FILE, DEPTH_FILE]
        .iter()
        .any(|name| real_path(&dir.join(name)) == summary)
}

/// `path` with its links resolved as far as it exists, the rest folded lexically.
fn real_path(path: &Path) -> PathBuf {
    use std::path::Component;

    let absolute = std::env::current_dir().map_or_else(|_| path.to_owned(), |cwd| cwd.join(path));
    let mut real = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                real.pop();
            }
            other => {
                real.push(other);
                if let Ok(resolved) = std::fs::canonicalize(&real) {
                    real = resolved;
                }
            }
        }
    }
    real
}

/// Prints the summary, writes it as JSON when asked, and gives the exit status.
pub(crate) fn finish(
    report: &RunReport,
    summary_file: Option<&Path>,
    stop: &Stop,
) -> anyhow::Result<u8> {
    let json_to_stdout = summary_file.is_some_and(is_stdout);
    if json_to_stdout {
        // `--summary -`: stdout is the JSON's, the human summary goes to stderr.
        complain!("{}", report.summary);
        let json =
            serde_json::to_string_pretty(&report.summary).context("encoding the run summary")?;
        say!("{json}");
    } else {
        say!("{}", report.summary);
    }
    if let Some(path) = summary_file.filter(|_| !json_to_stdout) {
        let json =
            serde_json::to_vec_pretty(&report.summary).context("encoding the run summary")?;
        // Checked again: the file may have been replaced during the run.
        let path = target::check(path, Target::Summary)?;
        orderflow::output::json_files::write_atomic(&path, &json)?;
    }
    let interrupted = report.summary.interrupted;
    if let Some(problem) = report.problem.as_ref().filter(|_| !interrupted) {
        complain!("error: {problem}");
    }
    Ok(stop.exit_code(interrupted, report.verdict.exit_code()))
}
