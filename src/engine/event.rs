//! The events the engine consumes: a book row or a trade, already parsed and validated.

use bitcode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Taker side of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub enum Side {
    Buy,
    Sell,
}

/// One price level as read from a row: `size == 0.0` deletes the level in an update.
///
/// Invariant (checked by the source): `price` finite and in `(0, 1e15]`, `size` finite and in
/// `[0, 1e15]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub price: f64,
    pub size: f64,
}

/// Whether a book row replaces the book or changes some of its levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookAction {
    /// Replaces both sides; levels of size 0 are dropped.
    Snapshot,
    /// Sets the size of each given level; size 0 removes it.
    Update,
}

/// One valid row of the `book` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookRow {
    /// Row id in its file (arrival order).
    pub id: i64,
    pub ts: Millis,
    pub action: BookAction,
    /// Empty means "no change" in an update and "empty side" in a snapshot.
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    /// Its message numbers, when the table has them (SPEC 10.2).
    pub seq: Option<SeqIds>,
}

/// The message numbers of one book row, as OKX sends them (`seqId`, `prevSeqId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqIds {
    pub seq_id: i64,
    pub prev_seq_id: i64,
}

/// One valid row of the `trades` table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct Trade {
    /// Row id in its file.
    pub id: i64,
    pub ts: Millis,
    pub price: f64,
    pub size: f64,
    pub side: Side,
}

/// What the engine consumes, in the merged order of SPEC 2.1. Serializable, so that a replay
/// can keep the events it read on disk and go back over them (`replay/tape.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Book(BookRow),
    Trade(Trade),
}

impl Event {
    pub fn ts(&self) -> Millis {
        match self {
            Event::Book(row) => row.ts,
            Event::Trade(trade) => trade.ts,
        }
    }
}
