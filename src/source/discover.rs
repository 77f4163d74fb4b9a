//! Finding candidate recordings (SPEC 1.1): a recursive walk and the file-name token rule.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The data directory cannot be searched.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(
        "data directory {} does not exist: pass --data-dir or set ORDERFLOW_DATA_DIR to the folder that holds the recordings",
        dir.display()
    )]
    NotFound { dir: PathBuf },
    #[error(
        "data directory {} is not a directory: pass --data-dir or set ORDERFLOW_DATA_DIR to the folder that holds the recordings",
        dir.display()
    )]
    NotADirectory { dir: PathBuf },
    #[error("cannot read data directory {}: {source}; check that it is readable", dir.display())]
    Read {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Extensions of database files, compared case-insensitively.
const EXTENSIONS: [&str; 3] = ["db", "sqlite", "sqlite3"];

/// Candidate files for `instrument` under `dir`, sorted by path.
///
/// Searched recursively. Regular files and symbolic links to files are candidates when their
/// name is a recording of `instrument` ([`is_candidate_name`]); links to directories are not
/// descended, dangling links and link loops are passed over, and so are subdirectories that
/// cannot be read (with a warning in the log). Subfolders whose name begins with `.` are not
/// searched: that is where copies are kept (`.backup/`, `.git/`), and a copy read as a second
/// file would count every trade twice. `dir` itself is searched whatever its name.
///
/// # Errors
/// When `dir` does not exist, is not a directory or cannot be read.
pub fn find_candidates(dir: &Path, instrument: &str) -> Result<Vec<PathBuf>, DiscoverError> {
    walk(dir, true, &|name| {
        is_candidate_name(name, instrument.as_bytes())
    })
}

/// The recordings of any instrument under `dir`, searched as [`find_candidates`] does,
/// counted by the instrument their name begins with (the stem up to a separator followed by a
/// digit, in capitals), most first: what to tell a user whose instrument has none. Quiet: the
/// folders it cannot read were already named by the search for candidates.
///
/// # Errors
/// When `dir` does not exist, is not a directory or cannot be read.
pub fn recordings_by_instrument(dir: &Path) -> Result<Vec<(String, usize)>, DiscoverError> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for path in walk(dir, false, &is_recording_name)? {
        let name = path.file_name().unwrap_or_default().as_encoded_bytes();
        *counts.entry(instrument_of_name(name)).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(counts)
}

/// The instrument a recording's name begins with: its stem up to the first separator followed
/// by a digit (`BTC-USDT-2025-01-15.db` is BTC-USDT), in capitals; the whole stem when no date
/// follows.
fn instrument_of_name(name: &[u8]) -> String {
    let stem = &name[..name.iter().rposition(|&c| c == b'.').unwrap_or(name.len())];
    let end = (0..stem.len())
        .find(|&at| {
            at > 0 && is_separator(stem[at]) && stem.get(at + 1).is_some_and(u8::is_ascii_digit)
        })
        .unwrap_or(stem.len());
    String::from_utf8_lossy(&stem[..end]).to_ascii_uppercase()
}

/// The files under `dir` whose name `keep` accepts (see [`find_candidates`]), sorted by path;
/// `warn` logs the folders and entries passed over.
fn walk(
    dir: &Path,
    warn: bool,
    keep: &dyn Fn(&[u8]) -> bool,
) -> Result<Vec<PathBuf>, DiscoverError> {
    let meta = fs::metadata(dir).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => DiscoverError::NotFound {
            dir: dir.to_owned(),
        },
        _ => DiscoverError::Read {
            dir: dir.to_owned(),
            source,
        },
    })?;
    if !meta.is_dir() {
        return Err(DiscoverError::NotADirectory {
            dir: dir.to_owned(),
        });
    }
    let mut found = Vec::new();
    // An explicit stack: deep trees cannot exhaust the call stack.
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let entries = match fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(source) if current == dir => {
                return Err(DiscoverError::Read {
                    dir: dir.to_owned(),
                    source,
                });
            }
            Err(error) => {
                if warn {
                    tracing::warn!("skipping directory {}: {error}", current.display());
                }
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    if warn {
                        tracing::warn!("skipping an entry of {}: {error}", current.display());
                    }
                    continue;
                }
            };
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            let name = entry.file_name();
            if file_type.is_dir() {
                if !is_hidden(name.as_encoded_bytes()) {
                    pending.push(path);
                }
                continue;
            }
            if !keep(name.as_encoded_bytes()) {
                continue;
            }
            // Follows links: a link to a file counts; dangling links and loops fail here.
            let is_file = if file_type.is_symlink() {
                fs::metadata(&path).is_ok_and(|m| m.is_file())
            } else {
                file_type.is_file()
            };
            if is_file {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether a file name is a recording of `instrument` (SPEC 1.1): not hidden, a database
/// extension, and the instrument a whole token of the stem.
pub fn is_candidate_name(name: &[u8], instrument: &[u8]) -> bool {
    let Some(dot) = name.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    is_recording_name(name) && stem_has_token(&name[..dot], instrument)
}

/// Whether a file name is a recording of some instrument: not hidden, a database extension.
fn is_recording_name(name: &[u8]) -> bool {
    if is_hidden(name) {
        return false;
    }
    let Some(dot) = name.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    let extension = &name[dot + 1..];
    EXTENSIONS
        .iter()
        .any(|e| extension.eq_ignore_ascii_case(e.as_bytes()))
}

/// A name beginning with `.`: hidden files and folders are never searched (SPEC 1.1).
fn is_hidden(name: &[u8]) -> bool {
    name.first() == Some(&b'.')
}

fn is_separator(c: u8) -> bool {
    matches!(c, b'_' | b'-' | b'.' | b' ')
}

/// `instrument` occurs in `stem` at the start or after a separator, and ends the stem or is
/// followed by a separator and a digit (so `BTC-USDT` is not found in `BTC-USDT-SWAP-...`).
fn stem_has_token(stem: &[u8], instrument: &[u8]) -> bool {
    let n = instrument.len();
    if n == 0 || n > stem.len() {
        return false;
    }
    (0..=stem.len() - n).any(|start| {
        let end = start + n;
        let starts = start == 0 || is_separator(stem[start - 1]);
        let ends = end == stem.len()
            || (is_separator(stem[end]) && stem.get(end + 1).is_some_and(u8::is_ascii_digit));
        starts && ends && stem[start..end].eq_ignore_ascii_case(instrument)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (name, expected) in [
            ("BTC-USDT-2025-01-15.db", true),
            ("okx_btc-usdt_20250115.sqlite", true),
            ("BTC-USDT.DB", true),
            ("btc-usdt.Sqlite3", true),
            ("data BTC-USDT 2025.db", true),
            ("x.BTC-USDT.1.db", true),
            ("ETH-BTC-USDT-1.db", true),
            ("BTC-USDT-SWAP-2025-01-15.db", false),
            ("BTC-USDT-SWAP.db", false),
            ("XBTC-USDT-2025.db", false),
            ("BTC-USDTX.db", false),
            ("BTC-USDT-.db", false),
            ("BTC-USDT_x1.db", false),
            (".BTC-USDT-2025.db", false),
            ("BTC-USDT-2025.db-journal", false),
            ("BTC-USDT-2025.json", false),
            ("BTC-USDT", false),
            ("BTC-USDT.db.bak", false),
            ("SWAP-BTC-USDT-SWAP-BTC-USDT-2.db", true),
        ] {
            assert_eq!(
                is_candidate_name(name.as_bytes(), b"BTC-USDT"),
                expected,
                "{name}"
            );
        }
        assert!(!is_candidate_name(b"BTC-USDT.db", b""));
    }
}
