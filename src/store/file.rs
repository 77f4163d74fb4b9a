//! Which file `--store` may write (SPEC 4 and 9.1): a new file, an empty one, or an SQLite
//! database that orderflow made, known by the `application_id` in its header; never a
//! recording, a folder, a FIFO or a device.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::repository::APPLICATION_ID;

/// The first bytes of every SQLite database.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// Where an SQLite header keeps the `application_id` (big-endian).
const APPLICATION_ID_OFFSET: usize = 68;

/// A `--store` that orderflow will not write.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to use {} as the store: it is {what}, and it was left as it was; give --store a new \
     file name (such as store.db) or a store that orderflow made",
    path.display()
)]
pub struct NotAStore {
    pub path: PathBuf,
    pub what: String,
}

/// Checks that `path` may be opened as a store, and returns the path to open: `path` itself or
/// the file a symbolic link points to.
///
/// # Errors
/// [`NotAStore`] when `path` exists and is not an empty file or an orderflow store.
pub fn check(path: &Path) -> Result<PathBuf, NotAStore> {
    let refuse = |what: &str| NotAStore {
        path: path.to_owned(),
        what: what.to_owned(),
    };
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(path.to_owned());
    };
    let target = if meta.is_symlink() {
        fs::canonicalize(path).map_err(|_| refuse("a symbolic link to nothing"))?
    } else {
        path.to_owned()
    };
    let meta = fs::metadata(&target).map_err(|error| refuse(&format!("unreadable ({error})")))?;
    if !meta.file_type().is_file() {
        return Err(refuse(if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, a device or a socket)"
        }));
    }
    match header(&target) {
        Ok(bytes) if bytes.is_empty() => Ok(target),
        Ok(bytes) if bytes.starts_with(SQLITE_HEADER) => {
            let id = bytes
                .get(APPLICATION_ID_OFFSET..APPLICATION_ID_OFFSET + 4)
                .and_then(|id| <[u8; 4]>::try_from(id).ok())
                .map(i32::from_be_bytes);
            if id == Some(APPLICATION_ID) {
                Ok(target)
            } else {
                Err(refuse(
                    "an SQLite database that orderflow did not make (a recording?)",
                ))
            }
        }
        Ok(_) => Err(refuse("a file that is not an SQLite database")),
        Err(error) => Err(refuse(&format!("a file that cannot be read ({error})"))),
    }
}

/// The first 100 bytes of the file (an SQLite header's size), opened without blocking.
fn header(path: &Path) -> io::Result<Vec<u8>> {
    let mut options = fs::File::options();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let mut bytes = Vec::new();
    file.take(100).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn new_empty_and_own_stores_may_be_written_and_recordings_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.db");
        assert_eq!(check(&new).unwrap(), new);
        fs::write(&new, b"").unwrap();
        assert!(check(&new).is_ok(), "an empty file");
        drop(Store::open(&new).unwrap());
        assert!(check(&new).is_ok(), "a store of ours");

        let recording = dir.path().join("BTC-USDT-2025-01-15.db");
        rusqlite::Connection::open(&recording)
            .unwrap()
            .execute_batch("CREATE TABLE book(id INTEGER PRIMARY KEY, bids TEXT)")
            .unwrap();
        let error = check(&recording).unwrap_err().to_string();
        assert!(error.contains("did not make"), "{error}");
        fs::write(dir.path().join("notes.txt"), b"my notes").unwrap();
        assert!(check(&dir.path().join("notes.txt")).is_err());
        assert!(
            check(dir.path())
                .unwrap_err()
                .to_string()
                .contains("directory")
        );
    }
}
