//! Opening a recording: read-only, with SQLite's own locking, at the file's real path, watched;
//! and SQLite's errors turned into messages a user can act on.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, ffi};

use super::guard;
use crate::source::record::FileError;

impl FileError {
    /// Turns a SQLite error into the message a user can act on.
    pub(crate) fn from_sqlite(path: &Path, doing: &'static str, error: rusqlite::Error) -> Self {
        let path = path.to_owned();
        let detail = error.to_string();
        let rusqlite::Error::SqliteFailure(failure, _) = &error else {
            return FileError::Sqlite {
                path,
                doing,
                detail,
            };
        };
        match failure.code {
            ErrorCode::NotADatabase => FileError::NotSqlite { path },
            ErrorCode::DatabaseCorrupt => FileError::Corrupt { path, detail },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => FileError::Locked { path },
            ErrorCode::CannotOpen => FileError::CannotOpen { path, detail },
            ErrorCode::OperationInterrupted if guard::stalled() => FileError::NoAnswer {
                path,
                seconds: guard::stall_limit().as_secs(),
            },
            ErrorCode::OperationInterrupted if guard::reading_cancelled() => {
                FileError::Interrupted { path }
            }
            ErrorCode::ReadOnly
                if matches!(
                    failure.extended_code,
                    ffi::SQLITE_READONLY_ROLLBACK | ffi::SQLITE_READONLY_RECOVERY
                ) =>
            {
                FileError::HotJournal { path }
            }
            _ => FileError::Sqlite {
                path,
                doing,
                detail,
            },
        }
    }
}

/// `file:` URI for `path` with `query`; every byte outside the unreserved set is escaped.
pub(super) fn file_uri(path: &Path, query: &str) -> String {
    let mut uri = String::from("file:");
    let bytes = path.as_os_str().as_encoded_bytes();
    // `file://x` would name a host: keep a leading `//` in the path part.
    if bytes.starts_with(b"//") {
        uri.push_str("//");
    }
    for &c in bytes {
        if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'.' | b'_' | b'~') {
            uri.push(c as char);
        } else {
            uri.push_str(&format!("%{c:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

/// A read-only connection tuned for one sequential pass, checked to be a readable SQLite database.
///
/// Locking is SQLite's own, never `immutable=1` (SPEC 4): a recorder may be writing the file.
/// The file is opened at its real path, behind any symbolic link, because SQLite looks for
/// its journal or WAL beside the path it is given; opened through a link, it would miss a hot
/// journal or committed WAL frames that lie beside the real file.
pub(crate) fn connect(path: &Path) -> Result<Connection, FileError> {
    let fail = |doing| move |e| FileError::from_sqlite(path, doing, e);
    if !path.is_file() {
        return Err(FileError::CannotOpen {
            path: path.to_owned(),
            detail: "not a file".to_owned(),
        });
    }
    let real = std::fs::canonicalize(path).map_err(|e| FileError::CannotOpen {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(file_uri(&real, "mode=ro"), flags).map_err(fail("opening"))?;
    guard::watch(&conn);
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(fail("opening"))?;
    // One sequential pass reads each page once, so a large page cache or a memory map buys
    // nothing and costs resident memory that grows with the file (mapped pages count in RSS as
    // they are touched). 512 KB of cache keeps the pages a piece's seek goes through (a piece
    // resumes from the root); the OS page cache does the rest. 2 MB cost 1.5 MB of resident
    // memory a connection for 0.2 % fewer instructions (BENCHMARKS.md, sixth round).
    conn.execute_batch(
        "PRAGMA query_only = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 0;
         PRAGMA cache_size = -512;",
    )
    .map_err(fail("setting up the connection"))?;
    // Opening is lazy: this first read is what finds a file that is not SQLite, encrypted,
    // locked or with a hot journal.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(fail("reading the schema"))?;
    Ok(conn)
}

/// What reading each table is called in error messages.
pub(super) const BOOK: &str = "reading book rows";
pub(super) const TRADES: &str = "reading trades";

/// Turns a SQLite error met while `doing` into a [`FileError`].
pub(super) fn fail<'p>(
    path: &'p Path,
    doing: &'static str,
) -> impl Fn(rusqlite::Error) -> FileError + 'p {
    move |e| FileError::from_sqlite(path, doing, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_everything_odd() {
        assert_eq!(
            file_uri(Path::new("/d/a b?#%.db"), "mode=ro"),
            "file:/d/a%20b%3F%23%25.db?mode=ro"
        );
        assert_eq!(
            file_uri(Path::new("//x/y.db"), "immutable=1"),
            "file:////x/y.db?immutable=1"
        );
    }
}
