//! The slices of a run: the changes from each slice's state to the next, with a full state
//! every [`KEYFRAME_EVERY`] slices, so that any range starts from a state near it.

use rustc_hash::FxHashMap as HashMap;

use super::batch::{SliceBatch, SliceMark};
use super::packed::{Entries, Key, Scale};
use super::sweep::Sweep;
use crate::engine::book::BookSide;

/// Slices between two full states: a query replays at most this many slices' changes before
/// its range.
pub const KEYFRAME_EVERY: usize = 256;

/// A store shared with its readers (the web server); `None` until a run starts one.
pub type SharedStore = std::sync::Arc<std::sync::RwLock<Option<HeatmapStore>>>;

/// The slices `first..first + len` of a run (SPEC 7), compact: a book changes few levels from
/// one slice end to the next, so a slice costs its changed levels (a key and a size, 12
/// bytes each) and its mark, not its whole book. Prices are numbered once, in the order first
/// seen. Every [`KEYFRAME_EVERY`]-th slice (from the first) also keeps its whole state.
///
/// Tradeoff: a state is rebuilt by replaying up to [`KEYFRAME_EVERY`] slices of changes, and
/// a query sweeps the changes of its range once, so its time is that of the changes in range,
/// whatever the zoom.
#[derive(Debug, Clone)]
pub struct HeatmapStore {
    slice_ms: i64,
    first: i64,
    /// Distinct prices, by number.
    prices: Vec<f64>,
    numbers: HashMap<u64, u32>,
    /// How sizes are packed; set by the first slices.
    scale: Option<Scale>,
    /// Slice `first + i` changed the levels `offsets[i]..offsets[i + 1]` of `changes`.
    offsets: Vec<usize>,
    changes: Entries,
    marks: Vec<SliceMark>,
    /// Full state `f` (of slice `first + f·KEYFRAME_EVERY`) is
    /// `frame_offsets[f]..frame_offsets[f + 1]` of `frames`.
    frame_offsets: Vec<usize>,
    frames: Entries,
    /// Slices per block of the time pyramid: a minute's (or the slice count nearest above).
    block_len: usize,
    /// Per block `block_first + b` (`block_len` slices from slice `(block_first + b) ·
    /// block_len`, all held): each level's sum over the block of its size,
    /// `block_offsets[b]..block_offsets[b + 1]` of `block_sums`. A column of whole blocks adds
    /// these instead of sweeping the block's changes.
    block_first: i64,
    block_offsets: Vec<usize>,
    block_sums: Entries,
    /// The state of the last slice, indexed by key (0: no level).
    state: Vec<f64>,
    /// Lowest and highest price ever held, for the server's default row height.
    lowest: f64,
    highest: f64,
    /// Slices from this one on are held but not shown: a replay's read-ahead appends the
    /// slices of events the state shown has not reached ([`HeatmapStore::show`]).
    shown_end: i64,
    /// The slice the state shown is in, not ended yet: shown as slice `shown_end`, in place
    /// of any held ([`HeatmapStore::show_tail`]).
    tail: Option<Tail>,
    /// A batch that overlaps the slices held repeats them (a replay under control: the same
    /// events give the same slices) rather than replacing them (a run that started a file over
    /// from an earlier state, with its trades read again in another order).
    repeats: bool,
    /// The sums of the block being appended, kept as its slices come.
    block_sweep: Scratch,
}

#[cfg(test)]
thread_local! {
    /// Blocks summed by the running sweep and checked against a sweep afresh, on this thread.
    pub(super) static SWEPT_BLOCKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A [`Sweep`] kept running over the slices appended, so that a block's sums cost its
/// changes, not a rebuilt state and a pass over every level ever seen. `next`: the slice it
/// takes next (`None`: not running; the block is then summed afresh). A copy starts with
/// none, and it prints as nothing.
#[derive(Default)]
struct Scratch {
    sweep: Sweep,
    next: Option<usize>,
}

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Scratch::default()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

/// The open slice of the state shown: its changes from the slice before, and its mark.
#[derive(Debug, Clone)]
struct Tail {
    changes: Vec<(Key, f64)>,
    mark: SliceMark,
}

/// The changes of a slice: held (packed), or the tail's.
enum SliceChanges<'a, H> {
    Held(H),
    Tail(std::slice::Iter<'a, (Key, f64)>),
}

impl<H: Iterator<Item = (Key, f64)>> Iterator for SliceChanges<'_, H> {
    type Item = (Key, f64);

    #[inline]
    fn next(&mut self) -> Option<(Key, f64)> {
        match self {
            SliceChanges::Held(held) => held.next(),
            SliceChanges::Tail(tail) => tail.next().copied(),
        }
    }
}

impl HeatmapStore {
    /// An empty store of slices of `slice_ms`.
    pub fn new(slice_ms: i64) -> Self {
        HeatmapStore {
            slice_ms: slice_ms.max(1),
            first: 0,
            prices: Vec::new(),
            numbers: HashMap::default(),
            scale: None,
            offsets: vec![0],
            changes: Entries::default(),
            marks: Vec::new(),
            frame_offsets: vec![0],
            frames: Entries::default(),
            state: Vec::new(),
            block_len: usize::try_from((60_000 + slice_ms.max(1) - 1) / slice_ms.max(1))
                .unwrap_or(1)
                .max(1),
            block_first: 0,
            block_offsets: vec![0],
            block_sums: Entries::default(),
            lowest: f64::INFINITY,
            highest: f64::NEG_INFINITY,
            shown_end: i64::MAX,
            tail: None,
            repeats: false,
            block_sweep: Scratch::default(),
        }
    }

    pub fn slice_ms(&self) -> i64 {
        self.slice_ms
    }

    /// A store whose overlapping batches repeat the slices held (see the field `repeats`).
    pub fn repeating(mut self) -> Self {
        self.repeats = true;
        self
    }

    /// The slices shown, `first..end` (empty when none): those held up to where the state
    /// shown is, and its open slice after them, if any.
    pub fn slices(&self) -> std::ops::Range<i64> {
        match self.tail {
            Some(_) => self.first..self.shown_end + 1,
            None => self.first..self.held().end.min(self.shown_end).max(self.first),
        }
    }

    /// The slices held, `first..end`.
    fn held(&self) -> std::ops::Range<i64> {
        self.first..self.first + self.marks.len() as i64
    }

    /// The index of the tail's slice, when there is a tail.
    fn tail_index(&self) -> Option<usize> {
        self.tail
            .as_ref()
            .map(|_| (self.shown_end - self.first) as usize)
    }

    /// Lowest and highest price of any level held, `None` before any.
    pub fn price_range(&self) -> Option<(f64, f64)> {
        (self.lowest <= self.highest).then_some((self.lowest, self.highest))
    }

    /// Bytes held (capacity), for the record.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.prices.capacity() * 8
            + self.numbers.capacity() * (size_of::<u64>() + size_of::<u32>() + 1)
            + self.offsets.capacity() * size_of::<usize>()
            + self.frame_offsets.capacity() * size_of::<usize>()
            + self.changes.heap_bytes()
            + self.frames.heap_bytes()
            + self.state.capacity() * 8
            + self.block_sums.heap_bytes()
            + self.marks.capacity() * size_of::<SliceMark>()
    }

    /// Appends the slices of `batch`. A batch that starts before the end of what is held
    /// repeats what it overlaps (a store that [`HeatmapStore::repeating`]), or replaces it (the
    /// run started a file over from an earlier state). One that starts after the end (slices
    /// missing between) replaces all. What is shown does not change ([`HeatmapStore::show`]).
    pub fn append(&mut self, batch: &SliceBatch) {
        self.append_slices(batch, batch.len());
    }

    /// Appends the first `count` slices of `batch` ([`HeatmapStore::append`]).
    fn append_slices(&mut self, batch: &SliceBatch, count: usize) {
        // The tail is the state shown, not what is held: set aside while slices are added.
        if self.repeats && count == 0 {
            // Slices are only repeated: none, nothing to change.
            return;
        }
        let mut tail = self.tail.take();
        let held = self.held();
        let mut skip = 0;
        if held.is_empty() {
            self.first = batch.first;
        } else if batch.first > held.end || batch.first < held.start {
            tail = None;
            self.truncate(held.start);
            self.first = batch.first;
        } else if batch.first < held.end {
            if self.repeats {
                skip = ((held.end - batch.first) as usize).min(count);
            } else {
                tail = None;
                self.truncate(batch.first);
                if self.marks.is_empty() {
                    self.first = batch.first;
                }
            }
        }
        let scale = *self
            .scale
            .get_or_insert_with(|| Scale::for_sizes(batch.changes.iter().map(|c| c.size)));
        for i in skip..count {
            self.changes.start_group();
            for change in batch.changes_of(i) {
                let key = self.key(change.price, change.side);
                self.changes.push(key, change.size, scale);
                self.state[key as usize] = change.size;
            }
            if self.offsets.len() == self.offsets.capacity() {
                self.offsets.reserve_exact(self.offsets.len() / 8 + 4096);
            }
            self.offsets.push(self.changes.len());
            if self.marks.len() == self.marks.capacity() {
                self.marks.reserve_exact(self.marks.len() / 8 + 4096);
            }
            self.marks.push(batch.marks[i]);
            self.feed_block_sweep(self.marks.len() - 1);
            if (self.marks.len() - 1) % KEYFRAME_EVERY == 0 {
                self.keep_frame();
            }
            self.keep_block_if_done();
        }
        self.tail = tail;
    }

    /// A frame of the state shown: appends `batch` ([`HeatmapStore::append`]) and shows the
    /// slices up to its end, the slices of a run that ends where the state shown is (its open
    /// slice aside: [`HeatmapStore::show_tail`]).
    pub fn show(&mut self, batch: &SliceBatch) {
        self.tail = None;
        self.append(batch);
        self.shown_end = batch.first + batch.len() as i64;
    }

    /// Shows the open slice of the state shown: `batch` holds the slices a run ending now
    /// would have after those shown ([`HeatmapStore::show`]), the last sampled before its end.
    /// The slices before the last are final and held as any; the last is shown until the next
    /// frame, in place of any slice held at its place.
    pub fn show_tail(&mut self, batch: &SliceBatch) {
        let Some(last) = batch.len().checked_sub(1) else {
            return;
        };
        self.append_slices(batch, last);
        let at = batch.first + last as i64;
        if self.held().is_empty() {
            self.first = at;
        }
        if at < self.first || at > self.held().end {
            return;
        }
        let changes = batch
            .changes_of(last)
            .iter()
            .map(|change| (self.key(change.price, change.side), change.size))
            .collect();
        self.tail = Some(Tail {
            changes,
            mark: batch.marks[last],
        });
        self.shown_end = at;
    }

    /// Drops the slices from `end` on.
    pub fn truncate(&mut self, end: i64) {
        self.tail = None;
        self.block_sweep.next = None;
        let len = usize::try_from(end.saturating_sub(self.first))
            .unwrap_or(0)
            .min(self.marks.len());
        self.offsets.truncate(len + 1);
        self.changes.truncate(self.offsets[len]);
        self.marks.truncate(len);
        let frames = len.div_ceil(KEYFRAME_EVERY);
        self.frame_offsets.truncate(frames + 1);
        self.frames.truncate(self.frame_offsets[frames]);
        let end = self.first + len as i64;
        let blocks = (end.div_euclid(self.block_len as i64) - self.block_first)
            .clamp(0, self.block_offsets.len() as i64 - 1) as usize;
        self.block_offsets.truncate(blocks + 1);
        self.block_sums.truncate(self.block_offsets[blocks]);
        let mut state = std::mem::take(&mut self.state);
        if len > 0 {
            self.load_state(len - 1, &mut state);
        } else {
            state.iter_mut().for_each(|size| *size = 0.0);
        }
        self.state = state;
    }

    /// Number of keys (the length of a dense state).
    pub(super) fn key_count(&self) -> usize {
        self.prices.len() * 2
    }

    /// The price of `key`.
    #[inline]
    pub(super) fn price_of(&self, key: Key) -> f64 {
        self.prices[(key >> 1) as usize]
    }

    /// The changes of slice `first + i`: each level's key and new size (0: gone).
    #[inline]
    pub(super) fn changes(&self, i: usize) -> impl Iterator<Item = (Key, f64)> + '_ {
        if let (Some(tail), Some(at)) = (&self.tail, self.tail_index())
            && i == at
        {
            return SliceChanges::Tail(tail.changes.iter());
        }
        let range = self.offsets[i]..self.offsets[i + 1];
        SliceChanges::Held(self.changes.get(
            range,
            self.scale.unwrap_or(Scale::for_sizes(std::iter::empty())),
        ))
    }

    pub(super) fn mark(&self, i: usize) -> &SliceMark {
        match (&self.tail, self.tail_index()) {
            (Some(tail), Some(at)) if i == at => &tail.mark,
            _ => &self.marks[i],
        }
    }

    /// Writes the state of slice `first + i` into `state` (indexed by key, resized to
    /// [`HeatmapStore::key_count`]): its full state before it, then the changes since.
    pub(super) fn load_state(&self, i: usize, state: &mut Vec<f64>) {
        if self.tail_index() == Some(i) {
            // The open slice: the state before it, then its changes.
            if i == 0 {
                state.clear();
                state.resize(self.key_count(), 0.0);
            } else {
                self.load_state(i - 1, state);
            }
            for (key, size) in self.changes(i) {
                state[key as usize] = size;
            }
            return;
        }
        state.clear();
        state.resize(self.key_count(), 0.0);
        let frame = i / KEYFRAME_EVERY;
        let range = self.frame_offsets[frame]..self.frame_offsets[frame + 1];
        let scale = self.scale.unwrap_or(Scale::for_sizes(std::iter::empty()));
        for (key, size) in self.frames.get(range, scale) {
            state[key as usize] = size;
        }
        for slice in frame * KEYFRAME_EVERY + 1..=i {
            for (key, size) in self.changes(slice) {
                state[key as usize] = size;
            }
        }
    }

    /// Block `block` (absolute), when it is held whole and summed: its sums.
    pub(super) fn block(&self, block: i64) -> Option<impl Iterator<Item = (Key, f64)> + '_> {
        let shown_whole = self.held().end.min(self.shown_end);
        if (block + 1).saturating_mul(self.block_len as i64) > shown_whole {
            return None;
        }
        let b = usize::try_from(block - self.block_first).ok()?;
        let range = *self.block_offsets.get(b)?..*self.block_offsets.get(b + 1)?;
        let scale = self.scale.unwrap_or(Scale::for_sizes(std::iter::empty()));
        Some(self.block_sums.get(range, scale))
    }

    pub(super) fn block_len(&self) -> usize {
        self.block_len
    }

    /// The length of a block of the time pyramid in ms: columns a multiple of it wide answer
    /// fastest.
    pub fn block_ms(&self) -> i64 {
        self.block_len as i64 * self.slice_ms
    }

    /// After a slice was appended: when it ends a block held whole, sums the block.
    fn keep_block_if_done(&mut self) {
        let len = self.block_len as i64;
        let end = self.first + self.marks.len() as i64;
        if end % len != 0 {
            return;
        }
        let swept = self.take_block_sweep((end - self.first) as usize);
        if end - len < self.first {
            return;
        }
        let block = end / len - 1;
        if self.block_offsets.len() == 1 {
            self.block_first = block;
        }
        if block != self.block_first + self.block_offsets.len() as i64 - 1 {
            return;
        }
        let start = (end - len - self.first) as usize;
        #[cfg(test)]
        if let Some(sums) = &swept {
            // The running sweep gives what a sweep of the block afresh gives, to the bit.
            assert_eq!(
                sums,
                &self.sums(start..start + self.block_len),
                "block {block}"
            );
            SWEPT_BLOCKS.set(SWEPT_BLOCKS.get() + 1);
        }
        let sums = match swept {
            Some(sums) => sums,
            None => {
                let mut scratch = std::mem::take(&mut self.block_sweep);
                let sums = self.sums_with(start..start + self.block_len, &mut scratch.sweep);
                scratch.next = None;
                self.block_sweep = scratch;
                sums
            }
        };
        let scale = self.scale.unwrap_or(Scale::for_sizes(std::iter::empty()));
        self.block_sums.start_group();
        for (key, sum) in sums {
            self.block_sums.push_sum(key, sum, scale);
        }
        self.block_offsets.push(self.block_sums.len());
    }

    /// Slice `i` was appended: the running sweep takes it, or starts at it if a block starts
    /// there.
    fn feed_block_sweep(&mut self, i: usize) {
        let mut scratch = std::mem::take(&mut self.block_sweep);
        if scratch.next == Some(i) {
            scratch.sweep.cover(self.key_count());
            scratch.sweep.apply_running(self.changes(i), i);
            scratch.next = Some(i + 1);
        } else if (self.first + i as i64).rem_euclid(self.block_len as i64) == 0 {
            scratch.sweep.start_from(&self.state, i);
            scratch.next = Some(i + 1);
        } else {
            scratch.next = None;
        }
        self.block_sweep = scratch;
    }

    /// The sums of the block that ends at slice `end`, from the running sweep if it took all
    /// its slices.
    fn take_block_sweep(&mut self, end: usize) -> Option<Vec<(Key, f64)>> {
        (self.block_sweep.next == Some(end)).then(|| self.block_sweep.sweep.take_column(end))
    }

    fn keep_frame(&mut self) {
        let scale = self.scale.unwrap_or(Scale::for_sizes(std::iter::empty()));
        self.frames.start_group();
        for (key, size) in self.state.iter().enumerate() {
            if *size != 0.0 {
                self.frames.push(key as Key, *size, scale);
            }
        }
        self.frame_offsets.push(self.frames.len());
    }

    fn key(&mut self, price: f64, side: BookSide) -> Key {
        let number = match self.numbers.get(&price.to_bits()) {
            Some(number) => *number,
            None => {
                let number = self.prices.len() as u32;
                self.numbers.insert(price.to_bits(), number);
                self.prices.push(price);
                self.state.resize(self.prices.len() * 2, 0.0);
                self.lowest = self.lowest.min(price);
                self.highest = self.highest.max(price);
                number
            }
        };
        number << 1
            | match side {
                BookSide::Bid => 0,
                BookSide::Ask => 1,
            }
    }
}
