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
                tracing::warn!("skipping directory {}: {error}", current.display());
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    tracing::warn!("skipping an entry of {}: {error}", current.display());
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
            if !is_candidate_name(name.as_encoded_bytes(), instrument.as_bytes()) {
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
    if is_hidden(name) {
        return false;
    }
    let Some(dot) = name.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    let (stem, extension) = (&name[..dot], &name[dot + 1..]);
    EXTENSIONS
        .iter()
        .any(|e| extension.eq_ignore_ascii_case(e.as_bytes()))
        && stem_has_token(stem, instrument)
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
