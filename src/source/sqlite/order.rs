//! Bringing the trades into time order (SPEC 2.1): by `id` when the table is in time order
//! (checked first, or trusted and watched), otherwise sorted by SQLite in a temporary table.

use std::path::Path;
use std::time::Instant;

use rusqlite::Connection;
use rusqlite::types::Value;

use super::connection::{TRADES, fail};
use super::decode::raw_of;
use super::fetch::{PIECE, Resume};
use super::guard;
use super::plan::{CopyPlan, TradePlan};
use crate::engine::Millis;
use crate::source::TimeUnit;
use crate::source::record::FileError;

/// How a stream brings the trades into time order (SPEC 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeOrder {
    /// A pass over the trades' timestamps first tells whether `id` order is time order; if
    /// not, SQLite sorts them. No trade can be merged before that pass has read the whole
    /// table (about a tenth of the reading of an hour), so the engine waits for it.
    Checked,
    /// The trades are streamed in `id` order at once, as recorders write them in time
    /// order, and watched as they are merged. Should one go back in time (or should the range
    /// end before the table does, and a trade left unread fall inside it), the stream ends
    /// with [`FileError::TradesOutOfOrder`]: its records were not the file's, and the caller
    /// starts over with [`TradeOrder::Checked`]. So is any other error, since a checked
    /// stream would have failed elsewhere.
    ///
    /// Only for a table whose `id` is the rowid (so that the trades left unread are those of a
    /// larger `id`); on any other a stream checks the order first.
    Trusted,
    /// Known not to be in time order by `id` (a trusting stream found it): sorted by SQLite
    /// at once, without the pass of [`TradeOrder::Checked`].
    Sorted,
}

impl TradePlan {
    /// The query that streams the trades in `(timestamp, id)` order, and where it resumes,
    /// once a pass over the table on `conn` has told whether `id` order is that order
    /// already. With [`TradeOrder::Sorted`] the sorting query, without the pass.
    /// `conn` should have `temp_store = FILE`, so that a large sort spills to disk.
    pub(super) fn query<'p>(
        &'p self,
        conn: &Connection,
        path: &Path,
        order: TradeOrder,
    ) -> Result<(&'p str, &'p [Value], Resume), FileError> {
        let in_order = order != TradeOrder::Sorted
            && trades_in_time_order(conn, self, self.params.clone()).map_err(fail(path, TRADES))?;
        if in_order {
            return Ok((&self.by_id, &self.params, self.resume));
        }
        match &self.copy {
            Some(copy) => {
                copy.run(conn, &self.params).map_err(fail(path, TRADES))?;
                Ok((&copy.by_time, &[], None))
            }
            None => Ok((&self.by_time, &self.params, None)),
        }
    }
}

/// Ids copied per statement when trades are copied to be sorted: about a few milliseconds.
pub(super) const COPY_IDS: i64 = 16_384;

impl CopyPlan {
    /// Copies the trades up to the cut into `temp.orderflow_trades`, a range of ids per
    /// statement, so that SQLite's lock on the file is only held for short moments.
    pub(super) fn run(&self, conn: &Connection, params: &[Value]) -> rusqlite::Result<()> {
        conn.execute_batch("PRAGMA query_only = OFF")?;
        let copied = (|| {
            conn.execute_batch(&self.create)?;
            guard::touch();
            let first: Option<i64> = conn.query_row(&self.first_id_sql, [], |row| row.get(0))?;
            let Some(first) = first else { return Ok(()) };
            let mut fill = conn.prepare(&self.fill)?;
            let mut params = params.to_vec();
            let at = params.len() - 2;
            let mut after = first.saturating_sub(1);
            while after < self.cut {
                let upto = after.saturating_add(COPY_IDS).min(self.cut);
                params[at] = Value::Integer(after);
                params[at + 1] = Value::Integer(upto);
                guard::touch();
                fill.execute(rusqlite::params_from_iter(&params))?;
                after = upto;
            }
            Ok(())
        })();
        conn.execute_batch("PRAGMA query_only = ON")?;
        guard::touch();
        copied
    }
}

/// Whether the valid trade timestamps, in `id` order, never go down once converted to ms:
/// then streaming by `id` is streaming in `(timestamp, id)` order.
pub(super) fn trades_in_time_order(
    conn: &Connection,
    plan: &TradePlan,
    params: Vec<Value>,
) -> rusqlite::Result<bool> {
    let Some(unit) = plan.unit else {
        // No valid timestamp at all: every row is bad, order does not matter.
        return Ok(true);
    };
    let mut last = Millis::MIN;
    let back_in_time = any_timestamp(conn, &plan.check, params, plan.resume, unit, |ms| {
        let back = ms < last;
        last = ms;
        back
    })?;
    Ok(!back_in_time)
}

/// Runs `sql`, whose columns are a trade's id and timestamp, and tells whether `found` holds
/// for any valid timestamp (in ms, by the decoder's test), stopping at the first. With
/// `resume`, in pieces that resume after the last id read.
pub(super) fn any_timestamp(
    conn: &Connection,
    sql: &str,
    mut params: Vec<Value>,
    resume: Resume,
    unit: TimeUnit,
    mut found: impl FnMut(Millis) -> bool,
) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(sql)?;
    loop {
        guard::touch();
        let started = Instant::now();
        let mut rows = stmt.query(rusqlite::params_from_iter(&params))?;
        let mut read: u32 = 0;
        loop {
            let Some(row) = rows.next()? else {
                return Ok(false);
            };
            let ms = raw_of(row.get_ref(1)?).and_then(|raw| unit.to_millis(raw));
            if ms.is_some_and(&mut found) {
                return Ok(true);
            }
            read += 1;
            if let Some(at) = resume
                && read % 1024 == 0
                && started.elapsed() >= PIECE
            {
                params[at] = Value::Integer(row.get(0)?);
                break;
            }
        }
    }
}
