//! The outcomes a `--jobs` worker hands the stitcher, kept in an anonymous temporary file so
//! that memory does not grow with the length of a file. Written in blocks, each the bitcode
//! encoding of a list of outcomes after its length, and read back block by block, in order: a
//! new field of [`Outcome`] passes through with its `bitcode` derive, no layout of our own.
//! (bitcode's serde mode cost 930 instructions an outcome there and back, a tenth of a
//! `--jobs 2` run's work on trade-heavy days; its derive about 220, a quarter.)
//!
//! The stitcher may read a spill while its worker still writes it ([`SpillWriter::new`] gives
//! both ends at once): the writer publishes the blocks it has written, and the reader waits for
//! them. A stitcher done with the file before it need not wait for the worker to finish: it
//! follows it. A writer dropped before [`SpillWriter::finish`] (its worker gave the file up)
//! ends the reading with an error after the blocks published before.

use std::fs::File;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::engine::Outcome;

/// Outcomes per block: a block is encoded and decoded in one go.
const BLOCK: usize = 1024;

/// Encoded blocks are written, and published, once they hold this many bytes.
const WRITE: usize = 1 << 16;

/// Bytes a reader takes from the file at most in one read.
const READ: usize = 1 << 16;

/// How far a spill has been written, shared by its two ends.
#[derive(Default)]
struct Shared {
    published: Mutex<Published>,
    changed: Condvar,
}

#[derive(Default)]
struct Published {
    /// Bytes of whole blocks in the file.
    bytes: u64,
    /// Whether the writer finished (`Some(true)`) or was dropped first (`Some(false)`).
    finished: Option<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Published> {
        // A writer that panicked holding the lock left whole numbers behind: go on.
        self.published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn publish(&self, bytes: u64, finished: Option<bool>) {
        let mut published = self.lock();
        published.bytes = bytes;
        if published.finished.is_none() {
            published.finished = finished;
        }
        drop(published);
        self.changed.notify_all();
    }
}

/// The error a reader meets after the last block published by a writer dropped unfinished.
#[derive(Debug, thiserror::Error)]
#[error("the worker gave the file up")]
struct Abandoned;

/// Outcomes being spilled.
pub(super) struct SpillWriter {
    file: Arc<File>,
    /// Encoded blocks not written yet.
    encoded: Vec<u8>,
    written: u64,
    block: Vec<Outcome>,
    encoder: bitcode::Buffer,
    shared: Arc<Shared>,
}

impl SpillWriter {
    /// A spill in a new anonymous temporary file, and its reader.
    ///
    /// # Errors
    /// When the temporary file cannot be made.
    pub(super) fn new() -> io::Result<(SpillWriter, Spill)> {
        let file = Arc::new(tempfile::tempfile()?);
        let shared = Arc::new(Shared::default());
        let writer = SpillWriter {
            file: Arc::clone(&file),
            encoded: Vec::with_capacity(WRITE + (WRITE >> 2)),
            written: 0,
            block: Vec::with_capacity(BLOCK),
            encoder: bitcode::Buffer::new(),
            shared: Arc::clone(&shared),
        };
        let reader = Spill {
            file,
            shared,
            offset: 0,
            buffer: Vec::new(),
            at: 0,
            decoder: bitcode::Buffer::new(),
        };
        Ok((writer, reader))
    }

    /// Adds an outcome at the end.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(super) fn push(&mut self, outcome: Outcome) -> io::Result<()> {
        self.block.push(outcome);
        if self.block.len() == BLOCK {
            self.encode_block();
            if self.encoded.len() >= WRITE {
                self.write(None)?;
            }
        }
        Ok(())
    }

    fn encode_block(&mut self) {
        let bytes = self.encoder.encode(&self.block);
        self.encoded
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.encoded.extend_from_slice(bytes);
        self.block.clear();
    }

    /// Writes the encoded blocks and publishes them (and `finished`).
    fn write(&mut self, finished: Option<bool>) -> io::Result<()> {
        write_all_at(&self.file, &self.encoded, self.written)?;
        self.written += self.encoded.len() as u64;
        self.encoded.clear();
        self.shared.publish(self.written, finished);
        Ok(())
    }

    /// Writes what is left: the reader reads to the end.
    ///
    /// # Errors
    /// When the file cannot be written (the reader then finds the spill given up).
    pub(super) fn finish(mut self) -> io::Result<()> {
        if !self.block.is_empty() {
            self.encode_block();
        }
        self.write(Some(true))
    }
}

impl Drop for SpillWriter {
    fn drop(&mut self) {
        // After `finish` this changes nothing; before, the reader stops at what it has.
        self.shared.publish(self.written, Some(false));
    }
}

/// Whether a spill's writer has finished it ([`Spill::finished`]).
pub(super) struct Finished(Arc<Shared>);

impl Finished {
    /// True once the writer has finished the spill: it can no longer give it up.
    pub(super) fn get(&self) -> bool {
        self.0.lock().finished == Some(true)
    }
}

/// Spilled outcomes, read back in order.
pub(super) struct Spill {
    file: Arc<File>,
    shared: Arc<Shared>,
    /// Where in the file `buffer` ends.
    offset: u64,
    buffer: Vec<u8>,
    /// Where in `buffer` the bytes not decoded yet start.
    at: usize,
    decoder: bitcode::Buffer,
}

impl Spill {
    /// Tells whether the writer has finished the spill, wherever the reading is.
    pub(super) fn finished(&self) -> Finished {
        Finished(Arc::clone(&self.shared))
    }

    /// The next block of outcomes, `None` after the last; waits for the writer to publish it.
    fn next_block(&mut self) -> Option<io::Result<Vec<Outcome>>> {
        match self.fill(8) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(Err(e)),
        }
        let mut length = [0; 8];
        length.copy_from_slice(&self.buffer[self.at..self.at + 8]);
        self.at += 8;
        let block = usize::try_from(u64::from_le_bytes(length))
            .map_err(io::Error::other)
            .and_then(|length| {
                if !self.fill(length)? {
                    return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
                }
                let bytes = &self.buffer[self.at..self.at + length];
                self.at += length;
                self.decoder.decode(bytes).map_err(io::Error::other)
            });
        Some(block)
    }

    /// Makes `need` bytes not decoded yet be at hand, reading what the writer has published
    /// and waiting for more as needed; false at the end of a finished spill.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        while self.buffer.len() - self.at < need {
            let published = {
                let shared = Arc::clone(&self.shared);
                let mut published = shared.lock();
                while published.bytes == self.offset && published.finished.is_none() {
                    published = shared
                        .changed
                        .wait(published)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                (published.bytes, published.finished)
            };
            match published {
                (bytes, Some(true)) if bytes == self.offset => return Ok(false),
                (bytes, Some(false)) if bytes == self.offset => {
                    return Err(io::Error::other(Abandoned));
                }
                _ => {}
            }
            let available = usize::try_from(published.0 - self.offset).unwrap_or(usize::MAX);
            let take = available.min(READ.max(need));
            self.buffer.drain(..self.at);
            self.at = 0;
            let start = self.buffer.len();
            self.buffer.resize(start + take, 0);
            read_exact_at(&self.file, &mut self.buffer[start..], self.offset)?;
            self.offset += take as u64;
        }
        Ok(true)
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
            // Until the end, an error, or the caller stops taking blocks.
            while let Some(block) = self.next_block() {
                let failed = block.is_err();
                if sender.send(block).is_err() || failed {
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

#[cfg(unix)]
fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(unix)]
fn read_exact_at(file: &File, bytes: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, bytes, offset)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        match std::os::windows::fs::FileExt::seek_write(file, bytes, offset)? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => (bytes, offset) = (&bytes[n..], offset + n as u64),
        }
    }
    Ok(())
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut bytes: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, bytes, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => (bytes, offset) = (&mut bytes[n..], offset + n as u64),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Link, Side, Trade};

    fn outcomes(n: i64) -> Vec<Outcome> {
        (0..n)
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
            .collect()
    }

    fn abandoned(error: &io::Error) -> bool {
        error.get_ref().is_some_and(|inner| inner.is::<Abandoned>())
    }

    /// A spill of `outcomes`, not finished.
    fn spilled(outcomes: &[Outcome]) -> (SpillWriter, Spill) {
        let (mut writer, spill) = SpillWriter::new().unwrap();
        for outcome in outcomes {
            writer.push(*outcome).unwrap();
        }
        (writer, spill)
    }

    fn same(a: &[Outcome], b: &[Outcome]) {
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(b) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }

    #[test]
    fn outcomes_come_back_in_order_bit_for_bit() {
        let outcomes = outcomes(10_000);
        let (writer, spill) = spilled(&outcomes);
        writer.finish().unwrap();
        let back: Vec<Outcome> =
            std::thread::scope(|scope| spill.read_ahead(scope).map(Result::unwrap).collect());
        same(&back, &outcomes);
    }

    #[test]
    fn nothing_spilled_reads_nothing() {
        let (writer, spill) = SpillWriter::new().unwrap();
        writer.finish().unwrap();
        assert_eq!(
            std::thread::scope(|scope| spill.read_ahead(scope).count()),
            0
        );
    }

    #[test]
    fn a_reader_follows_its_writer() {
        let outcomes = outcomes(300_000);
        let (mut writer, spill) = SpillWriter::new().unwrap();
        let back: Vec<Outcome> = std::thread::scope(|scope| {
            let reading = scope.spawn(|| {
                std::thread::scope(|scope| spill.read_ahead(scope).map(Result::unwrap).collect())
            });
            for (i, outcome) in outcomes.iter().enumerate() {
                writer.push(*outcome).unwrap();
                if i % 50_000 == 0 {
                    // Let the reader catch up and wait.
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            writer.finish().unwrap();
            reading.join().unwrap()
        });
        same(&back, &outcomes);
    }

    #[test]
    fn a_writer_dropped_unfinished_ends_the_reading_with_abandoned() {
        let outcomes = outcomes(200_000);
        let (writer, spill) = spilled(&outcomes);
        let published = writer.written;
        assert!(published > 0, "some blocks were written");
        let (read, error) = std::thread::scope(|scope| {
            let reading = scope.spawn(|| {
                let mut read = Vec::new();
                for outcome in spill.read_ahead(scope) {
                    match outcome {
                        Ok(outcome) => read.push(outcome),
                        Err(error) => return (read, Some(error)),
                    }
                }
                (read, None)
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(writer);
            reading.join().unwrap()
        });
        // The blocks written before the drop were read, whole, and nothing after them.
        assert_eq!(read.len() % BLOCK, 0);
        assert!(!read.is_empty() && read.len() < outcomes.len());
        same(&read, &outcomes[..read.len()]);
        let error = error.expect("the reading ends in an error");
        assert!(abandoned(&error), "{error}");
        assert!(!abandoned(&io::Error::other("another")));
    }
}
