//! Turning one SQLite row into a book row, a trade, or a bad row (SPEC 1.2 to 1.4, 4).
//!
//! Values are borrowed from SQLite's row buffer (`ValueRef`), never copied. Level text is parsed
//! into a reused scratch vector, then copied into a vector the consumer has handed back (see
//! `Threads::recycle`, `threads.rs`) when the row fits it (see `fits`), else into a new one of its exact
//! size.

use std::sync::mpsc::Receiver;

use rusqlite::types::ValueRef;

use super::cursor::Columns;

use crate::engine::{BookAction, BookRow, Event, Level, Millis, SeqIds, Side, Trade};

use crate::source::merge::Item;
use crate::source::parse::levels::{self, LevelError, MAX_VALUE};
use crate::source::parse::number::parse_number;
use crate::source::parse::timestamp::Raw;
use crate::source::parse::timestamp::TimeUnit;
use crate::source::record::{BadReason, BadRow, Record, Table};

/// Turns one row of a table into an item.
pub(crate) trait Decode {
    fn decode(&mut self, row: &impl Columns) -> rusqlite::Result<Item>;
}

impl Decode for BookDecoder {
    #[inline]
    fn decode(&mut self, row: &impl Columns) -> rusqlite::Result<Item> {
        BookDecoder::decode(self, row)
    }
}

impl Decode for TradeDecoder {
    #[inline]
    fn decode(&mut self, row: &impl Columns) -> rusqlite::Result<Item> {
        TradeDecoder::decode(self, row)
    }
}

/// Decodes book rows `SELECT id, ts, bids, asks[, action][, seq_id, prev_seq_id]`.
pub(crate) struct BookDecoder {
    pub unit: Option<TimeUnit>,
    /// Whether the query selects an `action` column; without one the first valid row of the
    /// file is the snapshot.
    pub has_action: bool,
    /// The column of `seq_id` (`prev_seq_id` follows it), when the query selects them.
    pub seq_column: Option<usize>,
    pub seen_valid: bool,
    pub scratch: Vec<Level>,
    /// Vectors of rows the consumer is done with, to copy rows into instead of allocating. They
    /// come in batches, which costs a channel operation per batch rather than per vector:
    /// these operations touch memory the other thread has just written, at a cost of about a
    /// cache miss each.
    pub recycled: Option<Receiver<Vec<Vec<Level>>>>,
    /// The vectors of the last batch not yet used.
    pub stash: Vec<Vec<Level>>,
}

impl BookDecoder {
    pub fn decode(&mut self, row: &impl Columns) -> rusqlite::Result<Item> {
        let id = id_of(row.value(0)?);
        let ts_value = row.value(1)?;
        let Some(ts) = millis(self.unit, ts_value) else {
            return Ok(bad(
                Table::Book,
                id,
                None,
                BadReason::Timestamp,
                describe(ts_value),
            ));
        };
        let bids = match self.side(row.value(2)?) {
            Ok(levels) => levels,
            Err(e) => return Ok(level_bad(id, ts, "bids", e)),
        };
        let asks = match self.side(row.value(3)?) {
            Ok(levels) => levels,
            Err(e) => return Ok(level_bad(id, ts, "asks", e)),
        };
        let action = if self.has_action {
            action_of(row.value(4)?)
        } else if self.seen_valid {
            BookAction::Update
        } else {
            BookAction::Snapshot
        };
        let seq = match self.seq_column {
            Some(column) => seq_ids(row.value(column)?, row.value(column + 1)?),
            None => None,
        };
        self.seen_valid = true;
        Ok(Item {
            key: Some(ts),
            record: Record::Event(Event::Book(BookRow {
                id,
                ts,
                action,
                bids,
                asks,
                seq,
            })),
        })
    }

    /// One side's levels; NULL and empty text are no levels.
    pub(super) fn side(&mut self, value: ValueRef<'_>) -> Result<Vec<Level>, SideError> {
        let text = match value {
            ValueRef::Null => return Ok(Vec::new()),
            ValueRef::Text(text) | ValueRef::Blob(text) => text,
            ValueRef::Integer(_) | ValueRef::Real(_) => {
                return Err(SideError::NotText(describe(value)));
            }
        };
        levels::parse_levels(text, &mut self.scratch).map_err(SideError::Levels)?;
        if self.scratch.is_empty() {
            return Ok(Vec::new());
        }
        // One returned vector per side, taken whether it fits or not: one that does not is
        // freed right before the allocation of the new one, which then mostly reuses its memory
        // from this thread's cache.
        let spare = self.spare_vector();
        let row = self.scratch.as_slice();
        match spare {
            Some(mut levels) if fits(levels.capacity(), row.len()) => {
                levels.clear();
                levels.extend_from_slice(row);
                Ok(levels)
            }
            _ => Ok(row.to_vec()),
        }
    }

    /// Takes back a vector of a row the consumer is done with, on this thread (a table read
    /// on the calling thread): the next rows are parsed into such vectors instead of new ones.
    pub(super) fn take_back(&mut self, levels: Vec<Level>) {
        if self.stash.len() < STASH && levels.capacity() > 0 {
            self.stash.push(levels);
        }
    }

    /// A vector handed back by the consumer, if one is at hand.
    ///
    /// More may come back than this thread has use for (while it waits for room in its
    /// channel, say): all batches but the one taken are freed at once, here, where they were
    /// allocated, which is cheaper than on the consumer's thread.
    pub(super) fn spare_vector(&mut self) -> Option<Vec<Level>> {
        if self.stash.is_empty() {
            let recycled = self.recycled.as_ref()?;
            self.stash = recycled.try_recv().ok()?;
            while let Ok(surplus) = recycled.try_recv() {
                drop(surplus);
            }
        }
        self.stash.pop()
    }
}

/// Vectors kept for reuse by a table read on the calling thread.
const STASH: usize = 256;

/// Levels a recycled vector may hold spare beyond twice its row's and still be used for it.
pub(super) const SLACK: usize = 16;

/// Whether a recycled vector of `capacity` levels is used for a row of `len` levels: it must
/// hold the row without growing, and not leave most of itself empty.
///
/// Vectors that grew to fit one large row would otherwise keep that capacity, and those in
/// flight between the threads creep up to the largest rows of the run (more peak memory the
/// longer the run); a vector that does not fit is freed instead, and the row copied into a new
/// one of its exact size.
pub(super) fn fits(capacity: usize, len: usize) -> bool {
    len <= capacity && capacity <= 2 * len + SLACK
}

pub(super) enum SideError {
    NotText(String),
    Levels(LevelError),
}

pub(super) fn level_bad(id: i64, ts: Millis, side: &str, error: SideError) -> Item {
    let (reason, detail) = match error {
        SideError::NotText(value) => (
            BadReason::LevelText,
            format!("{side}: {value} is not level text"),
        ),
        SideError::Levels(e @ LevelError::Syntax { .. }) => {
            (BadReason::LevelText, format!("{side}: {e}"))
        }
        SideError::Levels(e @ LevelError::Invalid { .. }) => {
            (BadReason::InvalidLevel, format!("{side}: {e}"))
        }
    };
    bad(Table::Book, id, Some(ts), reason, detail)
}

/// The message numbers of a row: both must be integers (an INTEGER, a REAL without a
/// fraction, or integer text); otherwise the row has none and is not linked (SPEC 10.2).
pub(super) fn seq_ids(seq_id: ValueRef<'_>, prev_seq_id: ValueRef<'_>) -> Option<SeqIds> {
    Some(SeqIds {
        seq_id: integer_of(seq_id)?,
        prev_seq_id: integer_of(prev_seq_id)?,
    })
}

fn integer_of(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Integer(n) => Some(n),
        // Within ±2^63 and whole: the cast is exact.
        ValueRef::Real(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => Some(x as i64),
        ValueRef::Text(text) => std::str::from_utf8(text).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// `snapshot` or `partial`, ignoring ASCII case and spaces, replaces the book.
pub(super) fn action_of(value: ValueRef<'_>) -> BookAction {
    let (ValueRef::Text(text) | ValueRef::Blob(text)) = value else {
        return BookAction::Update;
    };
    let letters = text
        .iter()
        .filter(|c| !c.is_ascii_whitespace())
        .map(u8::to_ascii_lowercase);
    if letters.clone().eq(b"snapshot".iter().copied()) || letters.eq(b"partial".iter().copied()) {
        BookAction::Snapshot
    } else {
        BookAction::Update
    }
}

/// Decodes trade rows `SELECT id, ts, price, size, side`.
pub(crate) struct TradeDecoder {
    pub unit: Option<TimeUnit>,
}

impl TradeDecoder {
    pub fn decode(&self, row: &impl Columns) -> rusqlite::Result<Item> {
        let id = id_of(row.value(0)?);
        let ts_value = row.value(1)?;
        let Some(ts) = millis(self.unit, ts_value) else {
            return Ok(bad(
                Table::Trades,
                id,
                None,
                BadReason::Timestamp,
                describe(ts_value),
            ));
        };
        let price_value = row.value(2)?;
        let price = match number_of(price_value) {
            Some(p) if p > 0.0 && p <= MAX_VALUE => p,
            _ => {
                return Ok(bad(
                    Table::Trades,
                    id,
                    Some(ts),
                    BadReason::TradePrice,
                    describe(price_value),
                ));
            }
        };
        let size_value = row.value(3)?;
        let size = match number_of(size_value) {
            Some(s) if s > 0.0 && s <= MAX_VALUE => s,
            _ => {
                return Ok(bad(
                    Table::Trades,
                    id,
                    Some(ts),
                    BadReason::TradeSize,
                    describe(size_value),
                ));
            }
        };
        let side_value = row.value(4)?;
        let side = match side_value {
            // As OKX writes them first, then any case and spacing.
            ValueRef::Text(b"buy") => Some(Side::Buy),
            ValueRef::Text(b"sell") => Some(Side::Sell),
            ValueRef::Text(text) | ValueRef::Blob(text) => {
                let text = text.trim_ascii();
                if text.eq_ignore_ascii_case(b"buy") {
                    Some(Side::Buy)
                } else if text.eq_ignore_ascii_case(b"sell") {
                    Some(Side::Sell)
                } else {
                    None
                }
            }
            _ => None,
        };
        let Some(side) = side else {
            return Ok(bad(
                Table::Trades,
                id,
                Some(ts),
                BadReason::TradeSide,
                describe(side_value),
            ));
        };
        Ok(Item {
            key: Some(ts),
            record: Record::Event(Event::Trade(Trade {
                id,
                ts,
                price,
                size,
                side,
            })),
        })
    }
}

pub(super) fn bad(
    table: Table,
    id: i64,
    key: Option<Millis>,
    reason: BadReason,
    detail: String,
) -> Item {
    Item {
        key,
        record: Record::Bad(BadRow {
            table,
            id,
            reason,
            detail,
        }),
    }
}

/// The row id; `id` is an INTEGER PRIMARY KEY, so anything else is a damaged schema.
pub(super) fn id_of(value: ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Integer(v) => v,
        ValueRef::Real(v) => v as i64,
        _ => 0,
    }
}

/// A valid timestamp in ms, or `None` (SPEC 1.4): NULL, text, blob, or not plausible.
pub(super) fn millis(unit: Option<TimeUnit>, value: ValueRef<'_>) -> Option<Millis> {
    unit?.to_millis(raw_of(value)?)
}

/// A price or size: INTEGER, REAL or numeric TEXT; `None` for anything else or non-finite.
pub(super) fn number_of(value: ValueRef<'_>) -> Option<f64> {
    let v = match value {
        ValueRef::Integer(v) => v as f64,
        ValueRef::Real(v) => v,
        ValueRef::Text(text) => parse_number(text).ok()?,
        ValueRef::Null | ValueRef::Blob(_) => return None,
    };
    v.is_finite().then_some(v)
}

/// A value as it could be shown in a message, at most about 60 characters.
pub(crate) fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(v) => v.to_string(),
        ValueRef::Real(v) => format!("{v:?}"),
        ValueRef::Text(text) => {
            let text = String::from_utf8_lossy(text);
            let mut shown: String = text.chars().take(50).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            format!("{shown:?}")
        }
        ValueRef::Blob(blob) => format!("a BLOB of {} bytes", blob.len()),
    }
}

/// A timestamp value as stored, if it is a number.
pub(crate) fn raw_of(value: rusqlite::types::ValueRef<'_>) -> Option<Raw> {
    match value {
        rusqlite::types::ValueRef::Integer(v) => Some(Raw::Int(v)),
        rusqlite::types::ValueRef::Real(v) => Some(Raw::Real(v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions() {
        for (text, action) in [
            ("snapshot", BookAction::Snapshot),
            (" SnapShot ", BookAction::Snapshot),
            ("snap shot", BookAction::Snapshot),
            ("PARTIAL", BookAction::Snapshot),
            ("update", BookAction::Update),
            ("snapshots", BookAction::Update),
            ("snapsho", BookAction::Update),
            ("", BookAction::Update),
        ] {
            assert_eq!(
                action_of(ValueRef::Text(text.as_bytes())),
                action,
                "{text:?}"
            );
        }
        assert_eq!(action_of(ValueRef::Null), BookAction::Update);
    }

    #[test]
    fn a_recycled_vector_is_used_only_when_the_row_fits_it() {
        let (spare, recycled) = std::sync::mpsc::channel();
        spare.send(vec![Vec::with_capacity(20)]).unwrap();
        spare.send(vec![Vec::with_capacity(1000)]).unwrap();
        spare.send(vec![Vec::with_capacity(1)]).unwrap();
        let mut decoder = BookDecoder {
            unit: None,
            has_action: false,
            seq_column: None,
            seen_valid: false,
            scratch: Vec::new(),
            recycled: Some(recycled),
            stash: Vec::new(),
        };
        let text = ValueRef::Text(br#"[["100.5","2"],["100.4","1"]]"#);
        let mut side = || match decoder.side(text) {
            Ok(levels) => levels,
            Err(_) => panic!("valid level text"),
        };
        // Within twice the row and the slack: used. The batches that came with it are freed.
        let used = side();
        assert_eq!(used.len(), 2);
        assert_eq!(used.capacity(), 20);
        // Nothing at hand: a new vector of the row's size.
        assert_eq!(side().capacity(), 2);
    }

    #[test]
    fn fitting_rows() {
        for (capacity, len, fit) in [(2, 2, true), (20, 2, true), (21, 2, false), (1, 2, false)] {
            assert_eq!(fits(capacity, len), fit, "{capacity} for {len}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number_of(ValueRef::Integer(3)), Some(3.0));
        assert_eq!(number_of(ValueRef::Text(b" 2.5 ")), Some(2.5));
        assert_eq!(number_of(ValueRef::Text(b"nan")), None);
        assert_eq!(number_of(ValueRef::Real(f64::INFINITY)), None);
        assert_eq!(number_of(ValueRef::Blob(b"1")), None);
    }
}
