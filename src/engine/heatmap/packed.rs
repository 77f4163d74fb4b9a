//! Level changes packed in a few bytes each: a day of an OKX-like book changes some 130 levels
//! from one second's end to the next, so a 24-hour heatmap holds about twelve million.

use crate::engine::book::BookSide;

/// A level of the store: the number of its price and its side, `number << 1 | side` (bid 0,
/// ask 1), so that one dense array indexed by key holds a state.
pub(super) type Key = u32;

/// The side of a key.
pub(super) fn side_of(key: Key) -> BookSide {
    if key & 1 == 0 {
        BookSide::Bid
    } else {
        BookSide::Ask
    }
}

/// Bits of a packed size's decimal mantissa; the key takes the bits above it but the top one.
const MANTISSA_BITS: u32 = 60;
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
/// Most decimals a size is looked at with.
const MAX_DECIMALS: i32 = 12;

/// Sizes as recorded are decimal text with a few decimals (OKX: 8), and a parsed decimal is
/// the double nearest to it, which is also what `mantissa / 10^decimals` gives (one correctly
/// rounded division of two exact values). So a size is kept as that integer mantissa, exactly;
/// any size that is not (too many decimals, too large) is kept whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scale {
    /// `10^decimals`.
    factor: f64,
}

impl Scale {
    /// The scale with the fewest decimals that holds every size of `sizes` exactly (8, as
    /// OKX, when none fits).
    pub(super) fn for_sizes(sizes: impl Iterator<Item = f64>) -> Scale {
        let mut decimals = 0;
        let mut any = false;
        for size in sizes.filter(|size| *size > 0.0) {
            if let Some(k) = (0..=MAX_DECIMALS).find(|k| mantissa(size, 10f64.powi(*k)).is_some()) {
                decimals = decimals.max(k);
                any = true;
            }
        }
        Scale {
            factor: 10f64.powi(if any { decimals } else { 8 }),
        }
    }

    #[inline]
    fn size(self, mantissa: u64) -> f64 {
        mantissa as f64 / self.factor
    }
}

/// `size × factor` as an integer of at most [`MANTISSA_BITS`] bits, when it gives `size` back.
fn mantissa(size: f64, factor: f64) -> Option<u64> {
    let scaled = (size * factor).round();
    (scaled >= 0.0 && scaled < MANTISSA_MASK as f64 && scaled / factor == size)
        .then_some(scaled as u64)
}

/// A list of (key, size) in groups (a slice's changes, a full state), in a few bytes an entry:
/// the key as the difference from the group's previous key and the size as its decimal
/// mantissa (see [`Scale`]), both as LEB128 varints; a size that has no exact mantissa is
/// written whole after a marker. Grown by an eighth at a time, so that a long run does not
/// hold up to twice what it needs.
#[derive(Debug, Clone, Default)]
pub(super) struct Entries {
    bytes: Vec<u8>,
    /// The previous key of the group being written.
    last: Key,
}

impl Entries {
    /// Where the next entry goes: what a group's range starts or ends at.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }

    /// Starts a group: the next key is written from 0.
    pub(super) fn start_group(&mut self) {
        self.last = 0;
    }

    pub(super) fn push(&mut self, key: Key, size: f64, scale: Scale) {
        if self.bytes.capacity() - self.bytes.len() < 32 {
            self.bytes.reserve_exact(self.bytes.len() / 8 + 65_536);
        }
        let delta = i64::from(key) - i64::from(self.last);
        self.last = key;
        put(&mut self.bytes, ((delta << 1) ^ (delta >> 63)) as u64);
        match mantissa(size, scale.factor) {
            Some(mantissa) => put(&mut self.bytes, mantissa << 1),
            None => {
                self.bytes.push(1);
                self.bytes.extend_from_slice(&size.to_le_bytes());
            }
        }
    }

    /// Pushes `sum`, a sum of sizes times slice counts: in mantissa units it is a whole number,
    /// which the sum in `f64` gives back once rounded (its error is far below a unit).
    pub(super) fn push_sum(&mut self, key: Key, sum: f64, scale: Scale) {
        let scaled = (sum * scale.factor).round();
        let whole = scaled >= 0.0
            && scaled < MANTISSA_MASK as f64
            && (scaled - sum * scale.factor).abs() <= 1e-3;
        if whole {
            // `scaled / factor` is within a rounding of `sum`: push it as an exact size.
            self.push(key, scaled / scale.factor, scale);
        } else {
            self.push(key, sum, scale);
        }
    }

    /// Keeps what is before `len` (a group's boundary).
    pub(super) fn truncate(&mut self, len: usize) {
        self.bytes.truncate(len);
    }

    /// The entries of the group (or groups) in `range`, in order.
    #[inline]
    pub(super) fn get(
        &self,
        range: std::ops::Range<usize>,
        scale: Scale,
    ) -> impl Iterator<Item = (Key, f64)> + '_ {
        let mut bytes = &self.bytes[range];
        let mut last: i64 = 0;
        std::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            let zigzag = take(&mut bytes);
            last += ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
            let size = if bytes.first() == Some(&1) {
                let raw: [u8; 8] = bytes.get(1..9)?.try_into().ok()?;
                bytes = &bytes[9..];
                f64::from_le_bytes(raw)
            } else {
                scale.size(take(&mut bytes) >> 1)
            };
            Some((last as Key, size))
        })
    }
}

/// Writes `value` as a LEB128 varint.
#[inline]
fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a LEB128 varint off the front of `bytes`.
#[inline]
fn take(bytes: &mut &[u8]) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    while let Some((&byte, rest)) = bytes.split_first() {
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 || shift >= 63 {
            break;
        }
        shift += 7;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_back_exactly_escaped_or_not() {
        let sizes = [
            0.60038921,
            1.5,
            0.0,
            12345.6789,
            1e15,
            0.1 + 0.2,
            5e-324,
            42.0,
        ];
        let scale = Scale::for_sizes(["0.60038921", "1.5"].iter().map(|t| t.parse().unwrap()));
        assert_eq!(scale, Scale { factor: 1e8 });
        let mut entries = Entries::default();
        entries.start_group();
        for (key, size) in sizes.iter().enumerate() {
            entries.push(key as Key * 1000, *size, scale);
        }
        let end = entries.len();
        let back: Vec<_> = entries.get(0..end, scale).collect();
        assert_eq!(back.len(), sizes.len());
        for (key, size) in sizes.iter().enumerate() {
            assert_eq!(back[key], (key as Key * 1000, *size));
        }
        // A second group, keys going down, truncated back and written again.
        entries.start_group();
        entries.push(5, 2.0, scale);
        entries.truncate(end);
        entries.start_group();
        entries.push(u32::MAX, 0.1 + 0.2, scale);
        entries.push(3, 0.0, scale);
        let back: Vec<_> = entries.get(end..entries.len(), scale).collect();
        assert_eq!(back, vec![(u32::MAX, 0.1 + 0.2), (3, 0.0)]);
    }
}
