//! The prints of a run for the live feed (`/api/prints`): every print, numbered in event
//! order, kept in an anonymous temporary file but for the newest few, so that a day of a
//! busy market (a million prints and more) holds some kilobytes of memory, not tens of MB.
//!
//! Records are fixed-size (32 bytes): print `i` is at `32 * i`. The newest prints stay in
//! memory, where the open one changes and a file that starts over takes some back. A
//! histogram of sizes by their leading bits answers the size at a share from the top with
//! one pass over the prints of one bucket.

use std::fs::File;
use std::io::{self, Write};

use crate::engine::{Millis, Print, PrintChanges, Side};

const RECORD: usize = 32;
/// Prints kept in memory: when `2 * TAIL` are, the older `TAIL` go to the file.
const TAIL: usize = 4096;
/// Buckets of the size histogram: a size's `f64` bits after the sign, its exponent and the top
/// four bits of its mantissa, which for sizes > 0 are in the order of the sizes (16 buckets
/// per power of two).
const BUCKETS: usize = 1 << 15;

/// Every print of a run, in event order.
#[derive(Debug)]
pub struct PrintLog {
    /// Where the older prints are; `None` when no temporary file could be made (then all are
    /// kept in `tail`).
    file: Option<File>,
    /// Prints in the file (the first `flushed` of the run).
    flushed: u64,
    /// The prints after those, in memory.
    tail: Vec<Print>,
    /// Prints per size bucket.
    histogram: Vec<u64>,
    /// The size bucket of every print, so that cutting prints off (a seek back over a week of
    /// them) needs no reading of the file: 2 bytes a print.
    buckets: Vec<u16>,
    /// A replay's log ([`PrintLog::repeating`]): the prints shown are the first `.0` held
    /// (closed prints, final) and the open print `.1`; the histogram counts those. `None`:
    /// every print held is shown.
    shown: Option<(u64, Option<Print>)>,
    /// A repeating log: the print after those held, given while it was open.
    pending: Option<Print>,
}

impl Default for PrintLog {
    fn default() -> Self {
        PrintLog::new()
    }
}

fn bucket(size: f64) -> usize {
    (size.to_bits() >> 48) as usize & (BUCKETS - 1)
}

fn encode(print: &Print, out: &mut Vec<u8>) {
    out.extend_from_slice(&print.ts.to_le_bytes());
    out.extend_from_slice(&print.vwap.to_le_bytes());
    out.extend_from_slice(&print.size.to_le_bytes());
    out.extend_from_slice(&print.trades.to_le_bytes());
    out.push(u8::from(print.side == Side::Sell));
    out.extend_from_slice(&[0; 3]);
}

fn decode(bytes: &[u8]) -> Print {
    let f = |at: usize| f64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    Print {
        ts: Millis::from_le_bytes(bytes[0..8].try_into().expect("8 bytes")),
        vwap: f(8),
        size: f(16),
        trades: u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes")),
        side: if bytes[28] == 1 {
            Side::Sell
        } else {
            Side::Buy
        },
    }
}

impl PrintLog {
    pub fn new() -> PrintLog {
        PrintLog {
            file: tempfile::tempfile().ok(),
            flushed: 0,
            tail: Vec::new(),
            histogram: vec![0; BUCKETS],
            buckets: Vec::new(),
            shown: None,
            pending: None,
        }
    }

    /// A log for a replay under control, whose states (seeks back and forth, a read-ahead)
    /// give the same closed prints again: it holds every closed print it was given, never
    /// cuts one off, and shows those of the state shown ([`PrintLog::show_state`]).
    pub fn repeating(mut self) -> PrintLog {
        self.shown = Some((0, None));
        self
    }

    /// Prints held, shown or not.
    fn held(&self) -> u64 {
        self.flushed + self.tail.len() as u64
    }

    /// A repeating log: holds the closed prints of `changes` not held yet, and shows the
    /// first `closed` (the state's closed prints) and `open` (its open print, if any).
    pub fn show_state(&mut self, changes: &PrintChanges, closed: u64, open: Option<Print>) {
        self.hold_closed(changes, closed);
        // A state whose closed prints were never given (none in a replay): shows fewer.
        let closed = closed.min(self.held());
        let (was, was_open) = self.shown.unwrap_or((self.held(), None));
        if let Some(print) = was_open {
            self.histogram[bucket(print.size)] -= 1;
        }
        let (from, to) = (was.min(closed) as usize, was.max(closed) as usize);
        for &bucket in &self.buckets[from..to] {
            if closed > was {
                self.histogram[usize::from(bucket)] += 1;
            } else {
                self.histogram[usize::from(bucket)] -= 1;
            }
        }
        if let Some(print) = open {
            self.histogram[bucket(print.size)] += 1;
        }
        self.shown = Some((closed, open));
    }

    /// A repeating log: holds the prints of `changes` numbered below `closed` (closed, so
    /// final) that it does not hold yet; shows nothing new. A print given open at the end of
    /// those held waits as `pending` (a tape does not give a print again once it closes as
    /// it was given): it is held once a state has closed it and gives it no more.
    pub fn hold_closed(&mut self, changes: &PrintChanges, closed: u64) {
        let given = changes.first..changes.first + changes.prints.len() as u64;
        if let Some(print) = self.pending
            && closed > self.held()
            && (given.is_empty() || given.start > self.held())
        {
            self.pending = None;
            self.hold(print);
        }
        if given.is_empty() || given.start > self.held() {
            return;
        }
        for number in self.held().max(given.start)..closed.min(given.end) {
            self.pending = None;
            self.hold(changes.prints[(number - given.start) as usize]);
        }
        let at = self.held();
        if closed == at && given.contains(&at) {
            // Of the versions of an open print, the one with the most trades is the latest.
            let open = changes.prints[(at - given.start) as usize];
            if self
                .pending
                .is_none_or(|pending| open.trades >= pending.trades)
            {
                self.pending = Some(open);
            }
        }
    }

    /// Appends a closed print to those held, counting it nowhere (a repeating log).
    fn hold(&mut self, print: Print) {
        self.keep_bucket(bucket(print.size));
        self.tail.push(print);
        if self.tail.len() >= 2 * TAIL && self.file.is_some() {
            self.flush(TAIL);
        }
    }

    /// The number of prints shown.
    pub fn len(&self) -> u64 {
        match self.shown {
            Some((closed, open)) => closed + u64::from(open.is_some()),
            None => self.held(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the prints from number `n` on.
    pub fn truncate(&mut self, n: u64) {
        let keep = usize::try_from(n).unwrap_or(usize::MAX);
        for bucket in self.buckets.drain(keep.min(self.buckets.len())..) {
            self.histogram[usize::from(bucket)] -= 1;
        }
        if n >= self.flushed {
            let keep = usize::try_from(n - self.flushed).unwrap_or(usize::MAX);
            self.tail.truncate(keep);
            return;
        }
        // Back into the file (a file that started over, a seek back): cut off.
        self.tail.clear();
        if let Some(file) = &self.file {
            let _ = file.set_len(n * RECORD as u64);
        }
        self.flushed = n;
    }

    /// Notes the size bucket of the next print, growing the list by an eighth at a time, not
    /// twice over: a day holds a million prints and more.
    fn keep_bucket(&mut self, bucket: usize) {
        if self.buckets.len() == self.buckets.capacity() {
            self.buckets.reserve_exact(self.buckets.len() / 8 + 4096);
        }
        self.buckets.push(bucket as u16);
    }

    /// Appends a print.
    pub fn push(&mut self, print: Print) {
        let bucket = bucket(print.size);
        self.histogram[bucket] += 1;
        self.keep_bucket(bucket);
        self.tail.push(print);
        if self.tail.len() >= 2 * TAIL && self.file.is_some() {
            self.flush(TAIL);
        }
    }

    /// Moves the oldest `n` prints of the tail to the file (kept in memory if it fails).
    fn flush(&mut self, n: usize) {
        let mut bytes = Vec::with_capacity(n * RECORD);
        for print in &self.tail[..n] {
            encode(print, &mut bytes);
        }
        let written = self.file.as_mut().map(|file| {
            use std::io::Seek;
            file.seek(io::SeekFrom::Start(self.flushed * RECORD as u64))
                .and_then(|_| file.write_all(&bytes))
        });
        match written {
            Some(Ok(())) => {
                self.tail.drain(..n);
                self.flushed += n as u64;
            }
            // The disk is full, say: from now on every print stays in memory.
            _ => self.file = None,
        }
    }

    /// Calls `each` with prints `from..to` of the file, in order, reading in blocks.
    fn scan(&self, from: u64, to: u64, mut each: impl FnMut(Print)) {
        use std::os::unix::fs::FileExt;
        let Some(file) = &self.file else { return };
        let mut buffer = vec![0u8; TAIL * RECORD];
        let mut at = from;
        while at < to {
            let n = (to - at).min(TAIL as u64) as usize;
            let bytes = &mut buffer[..n * RECORD];
            if file.read_exact_at(bytes, at * RECORD as u64).is_err() {
                return;
            }
            bytes.chunks_exact(RECORD).map(decode).for_each(&mut each);
            at += n as u64;
        }
    }

    /// Calls `each` with every print shown, in order.
    pub fn for_each(&self, mut each: impl FnMut(&Print)) {
        let (closed, open) = self.shown.unwrap_or((self.held(), None));
        self.scan(0, self.flushed.min(closed), |print| each(&print));
        let in_tail = usize::try_from(closed.saturating_sub(self.flushed)).unwrap_or(usize::MAX);
        self.tail[..in_tail.min(self.tail.len())]
            .iter()
            .for_each(&mut each);
        if let Some(print) = &open {
            each(print);
        }
    }

    /// The size of the smallest of the largest `share` of the prints (at least one); `None`
    /// without prints.
    pub fn size_at_top(&self, share: f64) -> Option<f64> {
        let count = self.len();
        if count == 0 {
            return None;
        }
        let top = ((count as f64 * share).ceil() as u64).clamp(1, count);
        // The bucket that holds the `top`-th largest size, and how many are above it.
        let (mut above, mut found) = (0u64, None);
        for b in (0..BUCKETS).rev() {
            if above + self.histogram[b] >= top {
                found = Some(b);
                break;
            }
            above += self.histogram[b];
        }
        let found = found?;
        let mut sizes = Vec::new();
        self.for_each(|print| {
            if bucket(print.size) == found {
                sizes.push(print.size);
            }
        });
        sizes.sort_by(|a, b| b.total_cmp(a));
        sizes.get((top - above - 1) as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(i: u64) -> Print {
        Print {
            ts: 1_000 + i as i64,
            side: if i % 3 == 0 { Side::Sell } else { Side::Buy },
            vwap: 100.0 + (i % 7) as f64 * 0.5,
            size: ((i * 7919) % 1000) as f64 / 64.0 + 0.001,
            trades: (i % 5) as u32 + 1,
        }
    }

    fn all(log: &PrintLog) -> Vec<Print> {
        let mut out = Vec::new();
        log.for_each(|p| out.push(*p));
        out
    }

    #[test]
    fn prints_come_back_in_order_from_the_file_and_the_tail() {
        let mut log = PrintLog::new();
        let n = 5 * TAIL as u64 + 17;
        for i in 0..n {
            log.push(print(i));
        }
        assert!(log.flushed > 0 && log.tail.len() < 2 * TAIL);
        let expected: Vec<Print> = (0..n).map(print).collect();
        assert_eq!(all(&log), expected);

        // Back into the tail, then back into the file.
        log.truncate(n - 3);
        assert_eq!(all(&log), expected[..(n - 3) as usize]);
        log.truncate(1000);
        log.push(print(7));
        let mut again = expected[..1000].to_vec();
        again.push(print(7));
        assert_eq!(all(&log), again);
        assert_eq!(log.histogram.iter().sum::<u64>(), 1001);
        // The histogram is that of the prints left, bucket by bucket.
        let mut sizes: Vec<f64> = again.iter().map(|p| p.size).collect();
        sizes.sort_by(|a, b| b.total_cmp(a));
        for share in [0.005, 0.1, 0.5, 1.0] {
            let top = ((sizes.len() as f64 * share).ceil() as usize).clamp(1, sizes.len());
            assert_eq!(
                log.size_at_top(share),
                Some(sizes[top - 1]),
                "share {share}"
            );
        }
    }

    #[test]
    fn the_size_at_a_share_from_the_top_is_exact() {
        let mut log = PrintLog::new();
        let n = 3 * TAIL as u64;
        for i in 0..n {
            log.push(print(i));
        }
        let mut sizes: Vec<f64> = (0..n).map(|i| print(i).size).collect();
        sizes.sort_by(|a, b| b.total_cmp(a));
        for share in [0.005, 0.01, 0.5, 1.0, 1e-9] {
            let top = ((n as f64 * share).ceil() as usize).clamp(1, n as usize);
            assert_eq!(
                log.size_at_top(share),
                Some(sizes[top - 1]),
                "share {share}"
            );
        }
        assert_eq!(PrintLog::new().size_at_top(0.005), None);
    }

    /// A replay's log holds every closed print given and shows those of the state shown, its
    /// open print last; sizes at a share count the prints shown only.
    #[test]
    fn a_repeating_log_shows_the_state_shown_whatever_it_holds() {
        let mut log = PrintLog::new().repeating();
        let n = 3 * TAIL as u64 + 5;
        let prints: Vec<Print> = (0..n).map(print).collect();
        let changes = |first: u64, to: u64| PrintChanges {
            first,
            prints: prints[first as usize..to as usize].to_vec().into(),
        };
        let open = |i: u64| Print {
            size: 99.0,
            ..print(i)
        };
        // Far ahead, back, forward again from a state that gives only its newest prints.
        for (first, closed, with_open) in [
            (0, n - 1, true),
            (0, 10, true),
            (5, 2 * TAIL as u64, false),
            (0, 0, true),
            (100, n, false),
        ] {
            let given = changes(first, closed);
            log.show_state(&given, closed, with_open.then(|| open(closed)));
            let mut want: Vec<Print> = prints[..closed as usize].to_vec();
            if with_open {
                want.push(open(closed));
            }
            assert_eq!(all(&log), want, "{closed} closed");
            assert_eq!(log.len(), want.len() as u64);
            let mut sizes: Vec<f64> = want.iter().map(|p| p.size).collect();
            sizes.sort_by(|a, b| b.total_cmp(a));
            for share in [0.01, 0.5, 1.0] {
                let top =
                    ((sizes.len() as f64 * share).ceil() as usize).clamp(1, sizes.len().max(1));
                assert_eq!(
                    log.size_at_top(share),
                    sizes.get(top - 1).copied(),
                    "{closed}: {share}"
                );
            }
        }
    }

    /// A print given while open is held once a state closes it without giving it again (a
    /// tape gives a print once more only when it changed), in its latest version.
    #[test]
    fn a_print_given_open_is_held_once_closed() {
        let mut log = PrintLog::new().repeating();
        let grown = Print {
            trades: 3,
            ..print(2)
        };
        // Prints 0 and 1 closed, 2 open; then 2 open with more trades; then 2 closed, 3 open.
        let given = |first: u64, prints: Vec<Print>| PrintChanges {
            first,
            prints: prints.into(),
        };
        log.show_state(
            &given(0, vec![print(0), print(1), print(2)]),
            2,
            Some(print(2)),
        );
        log.show_state(&given(2, vec![grown]), 2, Some(grown));
        log.show_state(&given(3, vec![print(3)]), 3, Some(print(3)));
        assert_eq!(all(&log), vec![print(0), print(1), grown, print(3)]);
        // A state that has closed print 3 and gives nothing new: it is held.
        log.show_state(&given(0, vec![]), 4, None);
        assert_eq!(all(&log), vec![print(0), print(1), grown, print(3)]);
    }
}
