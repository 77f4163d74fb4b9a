//! A watch over every SQLite connection: a file that does not answer is given up, and a
//! cancelled run stops SQLite in the middle of a step (SPEC 4).
//!
//! Every statement is run in short pieces (a chunk of rows, a range of ids), and each piece
//! starts with [`touch`]. A piece that runs longer than the stall limit without returning (an
//! endless recursive view, a pathological schema) is interrupted by SQLite's progress handler,
//! and its error becomes [`super::FileError::NoAnswer`]. The handler runs on the thread that
//! steps the statement, so the time a piece started is kept per thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How long a piece of reading may run without an answer, by default.
pub const DEFAULT_STALL_LIMIT: Duration = Duration::from_secs(30);

/// SQLite virtual-machine steps between two looks at the clock: well under a millisecond.
const STEPS: i32 = 20_000;

static STALL_LIMIT_MS: AtomicU64 = AtomicU64::new(DEFAULT_STALL_LIMIT.as_millis() as u64);
static CANCELLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// When this thread's current piece of reading started.
    static STARTED: Cell<Instant> = Cell::new(Instant::now());
    /// Whether the handler stopped this thread's last piece for taking too long.
    static STALLED: Cell<bool> = const { Cell::new(false) };
}

/// Sets how long a piece of reading may run without an answer before its file is given up.
pub fn set_stall_limit(limit: Duration) {
    let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
    STALL_LIMIT_MS.store(ms, Ordering::Relaxed);
}

/// The stall limit in force.
pub fn stall_limit() -> Duration {
    Duration::from_millis(STALL_LIMIT_MS.load(Ordering::Relaxed))
}

/// Stops all reading at once, in the middle of any SQLite step: for a run that was told to
/// stop (Ctrl-C, SIGTERM). Reading stays stopped for the rest of the process.
pub fn cancel_reading() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// Whether [`cancel_reading`] was called.
pub fn reading_cancelled() -> bool {
    CANCELLED.load(Ordering::Relaxed)
}

/// Marks the start of a piece of reading on this thread.
pub(crate) fn touch() {
    STARTED.with(|started| started.set(Instant::now()));
    STALLED.with(|stalled| stalled.set(false));
}

/// Whether the last interrupt on this thread was the stall limit's (and not a cancel or a
/// stream being stopped).
pub(crate) fn stalled() -> bool {
    STALLED.with(Cell::get)
}

/// Puts the watch on `conn`.
pub(crate) fn watch(conn: &Connection) {
    touch();
    conn.progress_handler(
        STEPS,
        Some(|| {
            if reading_cancelled() {
                return true;
            }
            let over = STARTED.with(|started| started.get().elapsed() > stall_limit());
            if over {
                STALLED.with(|stalled| stalled.set(true));
            }
            over
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_query_is_stopped_and_said_to_have_stalled() {
        let conn = Connection::open_in_memory().unwrap();
        watch(&conn);
        // Each thread keeps its own start; this test's thread is the only one reading here.
        STARTED.with(|started| started.set(Instant::now() - stall_limit() - stall_limit()));
        let endless = conn.query_row(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
            [],
            |row| row.get::<_, i64>(0),
        );
        assert!(endless.is_err());
        assert!(stalled());
        touch();
        assert!(!stalled());
        assert_eq!(
            conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                .unwrap(),
            1
        );
    }
}
