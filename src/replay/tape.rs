//! The tape of a replay under control: every event read, in the order processed, kept in an
//! anonymous temporary file so that a seek back goes over them again without reading the
//! recordings (and memory does not grow with the range). Written in blocks, each the bitcode
//! (serde) encoding of a list of events; a block is decoded whole when an event of it is asked.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::engine::Event;

/// Events per block.
const BLOCK: usize = 1024;

/// The events read so far, by index.
pub(super) struct Tape {
    file: File,
    /// Where each block written lies in the file: offset and length.
    blocks: Vec<(u64, usize)>,
    /// The events after the last block written.
    open: Vec<Event>,
    /// Bytes written.
    written: u64,
    /// The last block read back: its number and events.
    cached: Option<(usize, Vec<Event>)>,
}

impl Tape {
    /// An empty tape in a new anonymous temporary file.
    ///
    /// # Errors
    /// When the temporary file cannot be made.
    pub(super) fn new() -> io::Result<Tape> {
        Ok(Tape {
            file: tempfile::tempfile()?,
            blocks: Vec::new(),
            open: Vec::with_capacity(BLOCK),
            written: 0,
            cached: None,
        })
    }

    /// The number of events on the tape.
    pub(super) fn len(&self) -> usize {
        self.blocks.len() * BLOCK + self.open.len()
    }

    /// Adds an event at the end.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn push(&mut self, event: &Event) -> io::Result<()> {
        self.open.push(event.clone());
        if self.open.len() == BLOCK {
            let bytes = bitcode::serialize(&self.open).map_err(io::Error::other)?;
            self.file.seek(SeekFrom::Start(self.written))?;
            self.file.write_all(&bytes)?;
            self.blocks.push((self.written, bytes.len()));
            self.written += bytes.len() as u64;
            self.open.clear();
        }
        Ok(())
    }

    /// The event at `index` (below [`Tape::len`]).
    ///
    /// # Errors
    /// When the file cannot be read back.
    pub(super) fn get(&mut self, index: usize) -> io::Result<&Event> {
        let block = index / BLOCK;
        if block == self.blocks.len() {
            return self.open.get(index % BLOCK).ok_or_else(beyond);
        }
        if self
            .cached
            .as_ref()
            .is_none_or(|(cached, _)| *cached != block)
        {
            let &(offset, len) = self.blocks.get(block).ok_or_else(beyond)?;
            let mut bytes = vec![0; len];
            self.file.seek(SeekFrom::Start(offset))?;
            self.file.read_exact(&mut bytes)?;
            let events: Vec<Event> = bitcode::deserialize(&bytes).map_err(io::Error::other)?;
            self.cached = Some((block, events));
        }
        let (_, events) = self.cached.as_ref().ok_or_else(beyond)?;
        events.get(index % BLOCK).ok_or_else(beyond)
    }
}

fn beyond() -> io::Error {
    io::Error::other("an event beyond the end of the tape was asked for")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{BookAction, BookRow, Level, SeqIds, Side, Trade};

    fn event(i: usize) -> Event {
        let i = i as i64;
        if i % 3 == 0 {
            Event::Book(BookRow {
                id: i,
                ts: 1_000 + i,
                action: BookAction::Update,
                bids: vec![Level {
                    price: 100.0 + i as f64 / 10.0,
                    size: 1.5,
                }],
                asks: vec![],
                // The tape keeps a row's message numbers too.
                seq: (i % 2 == 0).then_some(SeqIds {
                    seq_id: i,
                    prev_seq_id: i - 1,
                }),
            })
        } else {
            Event::Trade(Trade {
                id: i,
                ts: 1_000 + i,
                price: 0.1 * i as f64,
                size: 2.0,
                side: Side::Sell,
            })
        }
    }

    #[test]
    fn every_event_reads_back_as_it_was_pushed_in_any_order() {
        let mut tape = Tape::new().unwrap();
        let count = 3 * BLOCK + 17;
        for i in 0..count {
            tape.push(&event(i)).unwrap();
        }
        assert_eq!(tape.len(), count);
        for i in (0..count).rev().step_by(7).chain(0..count) {
            assert_eq!(tape.get(i).unwrap(), &event(i), "{i}");
        }
        assert!(tape.get(count).is_err());
    }
}
