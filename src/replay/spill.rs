//! The outcomes a `--jobs` worker hands the stitcher, kept in an anonymous temporary file so
//! that memory does not grow with the length of a file. Written in blocks, each the bitcode
//! encoding of a list of outcomes after its length, and read back block by block, in order: a
//! new field of [`Outcome`] passes through with its `bitcode` derive, no layout of our own.
//! (bitcode's serde mode cost 930 instructions an outcome there and back, a tenth of a
//! `--jobs 2` run's work on trade-heavy days; its derive about 220, a quarter.)

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::engine::Outcome;

/// Outcomes per block: a block is encoded and decoded in one go.
const BLOCK: usize = 1024;

/// Outcomes being spilled.
pub(super) struct SpillWriter {
    file: BufWriter<File>,
    block: Vec<Outcome>,
    encoder: bitcode::Buffer,
}

impl SpillWriter {
    /// A spill in a new anonymous temporary file.
    ///
    /// # Errors
    /// When the temporary file cannot be made.
    pub(super) fn new() -> io::Result<SpillWriter> {
        Ok(SpillWriter {
            file: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            block: Vec::with_capacity(BLOCK),
            encoder: bitcode::Buffer::new(),
        })
    }

    /// Adds an outcome at the end.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn push(&mut self, outcome: Outcome) -> io::Result<()> {
        self.block.push(outcome);
        if self.block.len() == BLOCK {
            self.write_block()?;
        }
        Ok(())
    }

    fn write_block(&mut self) -> io::Result<()> {
        let bytes = self.encoder.encode(&self.block);
        self.file.write_all(&(bytes.len() as u64).to_le_bytes())?;
        self.file.write_all(bytes)?;
        self.block.clear();
        Ok(())
    }

    /// The outcomes spilled, to be read back from the first.
    ///
    /// # Errors
    /// When the file cannot be written or rewound.
    pub(super) fn finish(mut self) -> io::Result<Spill> {
        if !self.block.is_empty() {
            self.write_block()?;
        }
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Spill {
            file: BufReader::with_capacity(1 << 16, file),
            bytes: Vec::new(),
            decoder: bitcode::Buffer::new(),
        })
    }
}

/// Spilled outcomes, read back in order.
pub(super) struct Spill {
    file: BufReader<File>,
    bytes: Vec<u8>,
    decoder: bitcode::Buffer,
}

impl Spill {
    /// The next block of outcomes, `None` after the last.
    fn next_block(&mut self) -> Option<io::Result<Vec<Outcome>>> {
        let mut length = [0; 8];
        match self.file.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return None,
            Err(e) => return Some(Err(e)),
        }
        let length = usize::try_from(u64::from_le_bytes(length)).map_err(io::Error::other);
        Some(length.and_then(|length| {
            self.bytes.resize(length, 0);
            self.file.read_exact(&mut self.bytes)?;
            self.decoder.decode(&self.bytes).map_err(io::Error::other)
        }))
    }

    /// Reads and decodes the blocks on a thread of `scope`, a few blocks ahead of the
    /// caller: the stitcher's accounting runs alone at the end of a `--jobs` run, so the
    /// decoding (a third of that time) is better done beside it.
    pub(super) fn blocks_ahead<'scope>(
        mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
    ) -> impl Iterator<Item = io::Result<Vec<Outcome>>> + use<'scope> {
        let (sender, blocks) = std::sync::mpsc::sync_channel(AHEAD);
        scope.spawn(move || {
            // Until the end, or the caller stops taking blocks.
            while let Some(block) = self.next_block() {
                if sender.send(block).is_err() {
                    break;
                }
            }
        });
        blocks.into_iter()
    }

    /// The outcomes of [`Spill::blocks_ahead`] one by one.
    pub(super) fn read_ahead<'scope>(
        self,
        scope: &'scope std::thread::Scope<'scope, '_>,
    ) -> impl Iterator<Item = io::Result<Outcome>> + use<'scope> {
        self.blocks_ahead(scope).flat_map(|block| match block {
            Ok(block) => Box::new(block.into_iter().map(Ok)) as Box<dyn Iterator<Item = _>>,
            Err(e) => Box::new(std::iter::once(Err(e))),
        })
    }
}

/// Blocks decoded ahead of the stitcher, at most.
const AHEAD: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Link, Side, Trade};

    #[test]
    fn outcomes_come_back_in_order_bit_for_bit() {
        let outcomes: Vec<Outcome> = (0..10_000)
            .map(|i| match i % 3 {
                0 => Outcome::Book {
                    id: i * 3,
                    ts: i,
                    snapshot: i % 7 == 0,
                    obi: (i as f64).sin() / 3.0,
                    link: [Link::Start, Link::Gap, Link::Heartbeat][(i / 3 % 3) as usize],
                    crossed: i % 5 == 0,
                },
                _ => Outcome::Trade(Trade {
                    id: -i,
                    ts: i64::MAX - i,
                    price: 0.1 + i as f64,
                    size: 1e-9 * i as f64,
                    side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                }),
            })
            .collect();
        let mut writer = SpillWriter::new().unwrap();
        for outcome in &outcomes {
            writer.push(*outcome).unwrap();
        }
        let spill = writer.finish().unwrap();
        let back: Vec<Outcome> =
            std::thread::scope(|scope| spill.read_ahead(scope).map(Result::unwrap).collect());
        assert_eq!(back.len(), outcomes.len());
        for (a, b) in back.iter().zip(&outcomes) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }

    #[test]
    fn nothing_spilled_reads_nothing() {
        let spill = SpillWriter::new().unwrap().finish().unwrap();
        assert_eq!(
            std::thread::scope(|scope| spill.read_ahead(scope).count()),
            0
        );
    }
}
