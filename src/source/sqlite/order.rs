//! Bringing the trades into time order (SPEC 2.1): by `id` when the table is in time order
//! (checked first, or trusted and watched), otherwise sorted by SQLite in a temporary table.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::connection::{TRADES, connect, fail};
use super::cursor::Columns;
use super::decode::raw_of;
use super::fetch::PIECE;
use super::guard;
use super::pages;
use super::plan::{Pieces, Plan, TradePlan};
use crate::engine::Millis;
use crate::source::merge::Merge;
use crate::source::parse::timestamp::TimeUnit;
use crate::source::record::FileError;

/// How a stream brings the trades into time order (SPEC 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeOrder {
    /// A pass over the trades' timestamps first tells whether `id` order is time order; if
    /// not, SQLite sorts them. No trade can be merged before that pass has read the whole
    /// table, so the engine waits for it.
    Checked,
    /// The trades are streamed in `id` order at once, as recorders write them in time
    /// order, and watched as they are merged. Should one go back in time (or should the range
    /// end before the table does, and a trade left unread fall inside it), the read ends in
    /// `Next::End(Ending::TradesOutOfOrder)`: its records were not the file's, and the caller
    /// reads it again with [`TradeOrder::Sorted`].
    ///
    /// Only for a table whose `id` is the rowid (so that the trades left unread are those of a
    /// larger `id`); on any other a stream checks the order first.
    Trusted,
    /// Known not to be in time order by `id` (a trusting stream found it): sorted by SQLite
    /// at once, without the pass of [`TradeOrder::Checked`].
    Sorted,
}

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every record up to the end of the range was given.
    Complete,
    /// A read that trusted the trades to be in time order by `id` ([`TradeOrder::Trusted`])
    /// found that they were not: the records it gave are not the file's. Read it again with
    /// [`TradeOrder::Sorted`].
    TradesOutOfOrder,
}

/// At the end of a read that trusted the trades' order, whether they were in order. Those
/// merged were watched; should the range have ended before the trades did, those left unread
/// must all lie at or after its end, or one of them belonged in it.
///
/// # Errors
/// [`FileError`] when the trades left unread cannot be read.
pub(super) fn confirm(plan: &Plan, merge: &Merge) -> Result<Ending, FileError> {
    let (Some(watch), Some(t)) = (&merge.watch, &plan.trades) else {
        return Ok(Ending::Complete);
    };
    if watch.broken {
        return Ok(Ending::TradesOutOfOrder);
    }
    let Some(unit) = t
        .unit
        .filter(|_| merge.stopped_at_end && !merge.trades_done())
    else {
        return Ok(Ending::Complete);
    };
    let conn = Rc::new(connect(&plan.path)?);
    let mut unread = t.unread.clone();
    if let Some(last) = watch.last_id
        && !unread.resume.after(&mut unread.params, last)
    {
        return Ok(Ending::Complete);
    }
    let end = merge.end;
    let inside =
        any_timestamp(&conn, &unread, unit, |ms| ms < end).map_err(fail(&plan.path, TRADES))?;
    Ok(if inside {
        Ending::TradesOutOfOrder
    } else {
        Ending::Complete
    })
}

impl TradePlan {
    /// Prepares the trades to be read in `(timestamp, id)` order on `conn` and gives the query
    /// that reads them: by `id` when a pass over the table has told that `id` order is that
    /// order already, else sorted in a temporary table. With [`TradeOrder::Sorted`] sorted at
    /// once, without the pass; with [`TradeOrder::Trusted`] (a table keyed by its rowid) by
    /// `id` at once. `conn` should have `temp_store = FILE`, so that a large sort spills to
    /// disk.
    pub(super) fn prepare(
        &self,
        conn: &Rc<Connection>,
        path: &Path,
        order: TradeOrder,
    ) -> Result<&Pieces, FileError> {
        let fail = fail(path, TRADES);
        if let Some(copy) = &self.copy {
            copy.run(conn).map_err(&fail)?;
        }
        let by_id = match order {
            TradeOrder::Trusted if self.keyed => true,
            TradeOrder::Sorted => false,
            _ => trades_in_time_order(conn, self).map_err(&fail)?,
        };
        if by_id {
            return Ok(&self.by_id);
        }
        if let Some(fill) = &self.sort.fill {
            fill.run(conn).map_err(&fail)?;
        }
        self.sort.sort.run(conn).map_err(&fail)?;
        Ok(&self.sort.read)
    }
}

/// Whether the valid trade timestamps, in `id` order, never go down once converted to ms:
/// then streaming by `id` is streaming in `(timestamp, id)` order.
pub(super) fn trades_in_time_order(
    conn: &Rc<Connection>,
    plan: &TradePlan,
) -> rusqlite::Result<bool> {
    let Some(unit) = plan.unit else {
        // No valid timestamp at all: every row is bad, order does not matter.
        return Ok(true);
    };
    let mut last = Millis::MIN;
    let back_in_time = any_timestamp(conn, &plan.check, unit, |ms| {
        let back = ms < last;
        last = ms;
        back
    })?;
    Ok(!back_in_time)
}

/// Runs `check`, whose first columns are a trade's id and timestamp, and tells whether `found`
/// holds for any valid timestamp (in ms, by the decoder's test), stopping at the first; in
/// pieces that resume after the last key read. Within a piece, the rows after SQLite's first
/// come from the table's pages where they can (`pages.rs`).
pub(super) fn any_timestamp(
    conn: &Rc<Connection>,
    check: &Pieces,
    unit: TimeUnit,
    mut found: impl FnMut(Millis) -> bool,
) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(&check.sql)?;
    let mut params = check.params.clone();
    let resume = check.resume;
    let path = PathBuf::from(conn.path().unwrap_or_default());
    let mut pages = (check.direct.as_ref()).and_then(|direct| pages::open(conn, direct, &path));
    let mut is_found = |value: ValueRef<'_>| {
        raw_of(value)
            .and_then(|raw| unit.to_millis(raw))
            .is_some_and(&mut found)
    };
    'pieces: loop {
        guard::touch();
        let started = Instant::now();
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        let mut read: u32 = 0;
        // SQLite's first row has taken the read lock: the pages read on under it.
        if let Some(reader) = pages.as_mut() {
            let Some(row) = rows.next()? else {
                return Ok(false);
            };
            if is_found(row.get_ref(1)?) {
                return Ok(true);
            }
            let mut last: i64 = row.get(resume.key)?;
            let scanned = reader.scan_after(last, &params);
            loop {
                let surprise = match &scanned {
                    Err(surprise) => *surprise,
                    Ok(()) => match reader.next() {
                        Ok(Some(row)) => {
                            if is_found(row.value(1)?) {
                                return Ok(true);
                            }
                            last = row.integer(0)?;
                            read += 1;
                            if read % 1024 == 0 && started.elapsed() >= PIECE {
                                if !resume.after(&mut params, last) {
                                    return Ok(false);
                                }
                                continue 'pieces;
                            }
                            continue;
                        }
                        Ok(None) => return Ok(false),
                        Err(surprise) => surprise,
                    },
                };
                // SQLite reads on, after the last row read.
                pages::give_up(&mut pages, &path, surprise);
                if !resume.after(&mut params, last) {
                    return Ok(false);
                }
                continue 'pieces;
            }
        }
        loop {
            let Some(row) = rows.next()? else {
                return Ok(false);
            };
            if is_found(row.get_ref(1)?) {
                return Ok(true);
            }
            read += 1;
            if read % 1024 == 0 && started.elapsed() >= PIECE {
                if !resume.after(&mut params, row.get(resume.key)?) {
                    return Ok(false);
                }
                break;
            }
        }
    }
}
