//! orderflow's temporary files: named after the process that writes them, so that those of a
//! killed run can be cleaned up without ever touching one of a run still going.
//!
//! Every output is written to `.orderflow-{pid}-{random}.tmp` beside its target and then put
//! in its place. A run killed at the wrong moment (SIGKILL, a power loss) leaves that file
//! behind. The next run in the same folder deletes such a file when the process named in it
//! is gone. Files named the older way, without a pid (`.orderflow-{random}.tmp`), are deleted
//! once an hour old: no run keeps a temporary file that long.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

const PREFIX: &str = ".orderflow-";
const SUFFIX: &str = ".tmp";

/// Age after which a temporary file without a pid is taken to be stale.
const STALE_WITHOUT_PID: Duration = Duration::from_secs(3600);

/// A builder of temporary files named `.orderflow-{pid}-{random}.tmp`, readable by all (as a
/// file written in place would be; a temporary file is private by default).
pub fn builder() -> tempfile::Builder<'static, 'static> {
    static OWN_PREFIX: OnceLock<String> = OnceLock::new();
    let prefix = OWN_PREFIX.get_or_init(|| format!("{PREFIX}{}-", std::process::id()));
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(SUFFIX);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder
}

/// Deletes the temporary files in `dir` left by runs that are gone (see the module's notes).
/// Best effort: a file that cannot be deleted stays, and the run goes on.
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(middle) = name
            .to_str()
            .and_then(|name| name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX))
        else {
            continue;
        };
        // Only regular files: never a folder or a link that happens to have such a name.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let stale = match middle.split_once('-') {
            Some((pid, _)) => pid.parse::<u32>().is_ok_and(|pid| !process_exists(pid)),
            None => meta
                .modified()
                .ok()
                .and_then(|modified| SystemTime::now().duration_since(modified).ok())
                .is_some_and(|age| age > STALE_WITHOUT_PID),
        };
        if stale {
            match fs::remove_file(entry.path()) {
                Ok(()) => tracing::debug!(
                    "removed {}, left by a run that is gone",
                    entry.path().display()
                ),
                Err(error) => tracing::debug!("cannot remove {}: {error}", entry.path().display()),
            }
        }
    }
}

/// Whether a process `pid` exists. When in doubt, it does: its file is then kept.
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 sends nothing; kill(2) only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_runs_files_go_and_a_live_runs_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let own = std::process::id();
        for name in [
            format!(".orderflow-{dead}-abc123.tmp"),
            format!(".orderflow-{own}-abc123.tmp"),
            ".orderflow-xyz789.tmp".to_owned(),
            "orderflow-1-a.tmp".to_owned(),
        ] {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        fs::create_dir(dir.path().join(format!(".orderflow-{dead}-dir.tmp"))).unwrap();
        remove_stale(dir.path());
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = vec![
            format!(".orderflow-{dead}-dir.tmp"),
            format!(".orderflow-{own}-abc123.tmp"),
            ".orderflow-xyz789.tmp".to_owned(),
            "orderflow-1-a.tmp".to_owned(),
        ];
        expected.sort();
        assert_eq!(left, expected);
    }

    #[test]
    fn temporary_files_carry_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let file = builder().tempfile_in(dir.path()).unwrap();
        let name = file
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            name.starts_with(&format!(".orderflow-{}-", std::process::id()))
                && name.ends_with(".tmp"),
            "{name}"
        );
    }
}
