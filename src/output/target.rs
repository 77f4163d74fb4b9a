//! What an output may replace (SPEC 4): nothing but a new file or a regular file of
//! orderflow's own making.
//!
//! orderflow recognises its own file by what is in it, since a name proves nothing (`--summary`
//! can name any path, and a recording could be called `ohlc_data.json`):
//! - an empty file (a reset, or one made with `touch`);
//! - a JSON file of one of the shapes orderflow writes: a list of rows of numbers
//!   (`ohlc_data.json`, `metrics_data.json`), an object of exactly `bids` and `asks`, lists of
//!   rows of numbers (`depth_data.json`), or an object with the run summary's `instrument`,
//!   `start`, `end`, `files` and `skipped`. Any of them may be replaced by any output: the files
//!   are all orderflow's (or the seed's, whose JSON files have the same shapes).
//!
//! A file that starts with `SQLite format 3` (a recording) is never ours, nor is any file larger
//! than [`MAX_OWN_BYTES`]. A symbolic link is judged by the file it points to, and then that
//! file is written (the link stays); a link to nothing is refused. A folder, a FIFO, a device
//! or a socket is refused. Anything refused is left exactly as it was.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// No output of orderflow comes near this size (the JSON files hold at most 1000 bars).
pub const MAX_OWN_BYTES: u64 = 64 << 20;

/// The first bytes of every SQLite database.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// The output that is about to be written (for the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `ohlc_data.json` or `metrics_data.json`: `[[ts, n, ...], ...]`.
    Bars,
    /// `depth_data.json`: `{"bids": [[p, s], ...], "asks": [[p, s], ...]}`.
    Depth,
    /// `footprint_data.json`: `[[ts, [[price, buy, sell], ...]], ...]`.
    Footprint,
    /// The run summary of `--summary`.
    Summary,
}

/// Whether `value` has one of the shapes orderflow writes (see the module's notes).
fn is_own(value: &Value) -> bool {
    let numbers = |row: &Value| {
        row.as_array()
            .is_some_and(|row| row.iter().all(Value::is_number))
    };
    let rows = |value: &Value| {
        value
            .as_array()
            .is_some_and(|rows| rows.iter().all(numbers))
    };
    let depth = |value: &Value| {
        value.as_object().is_some_and(|depth| {
            depth.len() == 2
                && ["bids", "asks"]
                    .iter()
                    .all(|side| depth.get(*side).is_some_and(rows))
        })
    };
    let summary = |value: &Value| {
        value.as_object().is_some_and(|summary| {
            ["instrument", "start", "end", "files", "skipped"]
                .iter()
                .all(|key| summary.contains_key(*key))
        })
    };
    let footprint = |value: &Value| {
        value.as_array().is_some_and(|bars| {
            bars.iter().all(|bar| {
                bar.as_array()
                    .is_some_and(|bar| bar.len() == 2 && bar[0].is_number() && rows(&bar[1]))
            })
        })
    };
    rows(value) || depth(value) || summary(value) || footprint(value)
}

impl Target {
    fn advice(self) -> &'static str {
        match self {
            Target::Bars | Target::Depth | Target::Footprint => {
                "give --json-dir a folder of its own (a new or empty one), or move the file away yourself"
            }
            Target::Summary => {
                "give --summary a new file name (such as summary.json), or move the file away yourself"
            }
        }
    }
}

/// An output target that orderflow will not replace.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to write {} over {}: it is {what}, not a file orderflow wrote, and it was left as it was; {advice}",
    if *output == Target::Summary { "the run summary" } else { "a JSON file" },
    path.display()
)]
pub struct Refused {
    pub path: PathBuf,
    pub output: Target,
    /// What the target is, e.g. "a SQLite database (a recording?)".
    pub what: String,
    pub advice: &'static str,
}

/// Checks that `path` may be written as `output`, and returns the path to write: `path` itself,
/// or the file a symbolic link points to.
///
/// A path that cannot be looked at (a parent that is not a folder, no permission) is returned
/// as it is: writing it then fails with its own error.
///
/// # Errors
/// [`Refused`] when `path` exists and is not a regular file of orderflow's own making (see the
/// module's notes).
pub fn check(path: &Path, output: Target) -> Result<PathBuf, Refused> {
    let refuse = |what: &str| Refused {
        path: path.to_owned(),
        output,
        what: what.to_owned(),
        advice: output.advice(),
    };
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(path.to_owned());
    };
    let (target, meta) = if meta.is_symlink() {
        match fs::canonicalize(path).and_then(|real| Ok((fs::metadata(&real)?, real))) {
            Ok((meta, real)) => (real, meta),
            Err(_) => {
                return Err(refuse(
                    "a symbolic link to nothing (its target is missing or a loop)",
                ));
            }
        }
    } else {
        (path.to_owned(), meta)
    };
    if let Some(kind) = not_a_file(&meta) {
        return Err(refuse(kind));
    }
    match read_start(&target) {
        Ok(bytes) if bytes.is_empty() => Ok(target),
        Ok(bytes) if bytes.starts_with(SQLITE_HEADER) => {
            Err(refuse("a SQLite database (a recording?)"))
        }
        Ok(bytes) if bytes.len() as u64 > MAX_OWN_BYTES => {
            Err(refuse("a file larger than any orderflow writes"))
        }
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) if is_own(&value) => Ok(target),
            Ok(_) => Err(refuse("a JSON file of a shape orderflow does not write")),
            Err(_) => Err(refuse("a file that is not JSON")),
        },
        Err(error) => Err(refuse(&format!("a file that cannot be read ({error})"))),
    }
}

/// What `meta` is, when it is not a regular file.
fn not_a_file(meta: &fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Up to [`MAX_OWN_BYTES`] + 1 bytes of the file. Opened without blocking, so that a FIFO put
/// there since it was looked at cannot hang the run.
fn read_start(path: &Path) -> io::Result<Vec<u8>> {
    let mut options = fs::File::options();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if let Some(kind) = not_a_file(&file.metadata()?) {
        return Err(io::Error::other(format!("it became {kind}")));
    }
    let mut bytes = Vec::new();
    file.take(MAX_OWN_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_content(content: &[u8], output: Target) -> Result<PathBuf, Refused> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.json");
        fs::write(&path, content).unwrap();
        let result = check(&path, output);
        assert_eq!(fs::read(&path).unwrap(), content, "never changed");
        result
    }

    #[test]
    fn own_files_are_recognised_by_their_content() {
        for (content, output, own) in [
            (&b""[..], Target::Bars, true),
            (b"[]", Target::Bars, true),
            (b"[\n[1736899200000,1.5,2,1,1.25,3]\n]", Target::Bars, true),
            (b"{\"bids\":[[1,2]],\"asks\":[]}", Target::Depth, true),
            (
                b"[\n[60000,[[1.5,2,0],[2,0,1]]]\n]",
                Target::Footprint,
                true,
            ),
            (b"[[60000,[[1.5,\"x\",0]]]]", Target::Footprint, false),
            (
                b"{\"instrument\":\"X\",\"start\":0,\"end\":1,\"files\":[],\"skipped\":{}}",
                Target::Summary,
                true,
            ),
            (b"SQLite format 3\0rest of a recording", Target::Bars, false),
            (b"SQLite format 3\0", Target::Summary, false),
            (b"{\"bids\":[],\"asks\":[]}", Target::Bars, true),
            (b"[[1,2]]", Target::Depth, true),
            (
                b"{\"bids\":[[\"1\",\"2\"]],\"asks\":[]}",
                Target::Depth,
                false,
            ),
            (b"{\"mine\":[1,2,3]}", Target::Bars, false),
            (b"[1,2,3]", Target::Bars, false),
            (b"\"text\"", Target::Summary, false),
            (
                b"{\"bids\":[],\"asks\":[],\"mine\":1}",
                Target::Depth,
                false,
            ),
            (b"[[\"a\"]]", Target::Bars, false),
            (b"my notes", Target::Summary, false),
            (b"{\"instrument\":\"X\"}", Target::Summary, false),
        ] {
            assert_eq!(
                check_content(content, output).is_ok(),
                own,
                "{:?} as {output:?}",
                String::from_utf8_lossy(content)
            );
        }
    }

    #[test]
    fn a_missing_file_may_be_written_and_a_folder_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        assert_eq!(check(&new, Target::Summary).unwrap(), new);
        let err = check(dir.path(), Target::Summary).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        assert!(err.to_string().contains("--summary"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_judged_by_its_target_and_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own.json");
        fs::write(&own, "[]").unwrap();
        let recording = dir.path().join("r.db");
        fs::write(&recording, b"SQLite format 3\0...").unwrap();
        let link = |name: &str, to: &Path| {
            let path = dir.path().join(name);
            std::os::unix::fs::symlink(to, &path).unwrap();
            path
        };
        let to_own = link("to-own.json", &own);
        assert_eq!(
            check(&to_own, Target::Bars).unwrap(),
            fs::canonicalize(&own).unwrap()
        );
        assert!(check(&link("to-recording.json", &recording), Target::Bars).is_err());
        assert!(
            check(
                &link("dangling.json", &dir.path().join("none")),
                Target::Bars
            )
            .is_err()
        );
    }
}
