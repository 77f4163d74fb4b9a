//! Level changes packed in 8 bytes each: a day of an OKX-like book changes some 130 levels
//! from one second's end to the next, so a 24-hour heatmap holds about twelve million.

use super::store::Key;

/// Bits of a packed size's decimal mantissa; the key takes the bits above it but the top one.
const MANTISSA_BITS: u32 = 40;
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
/// Keys that fit beside the mantissa (4 million prices a side).
const KEY_LIMIT: u32 = 1 << (63 - MANTISSA_BITS);
/// Set on an entry whose key and size are in the side table instead.
const ESCAPED: u64 = 1 << 63;
/// Most decimals a size is looked at with.
const MAX_DECIMALS: i32 = 12;

/// Sizes as recorded are decimal text with a few decimals (OKX: 8), and a parsed decimal is
/// the double nearest to it, which is also what `mantissa / 10^decimals` gives (one correctly
/// rounded division of two exact values). So a size is kept as that integer mantissa, exactly;
/// any size that is not (too many decimals, too large) goes whole into a side table.
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
            match (0..=MAX_DECIMALS).find(|k| mantissa(size, 10f64.powi(*k)).is_some()) {
                Some(k) => {
                    decimals = decimals.max(k);
                    any = true;
                }
                None => {}
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

/// A list of (key, size), 8 bytes an entry (see [`Scale`]), grown by an eighth at a time so
/// that a long run does not hold up to twice what it needs.
#[derive(Debug, Clone, Default)]
pub(super) struct Entries {
    words: Vec<u64>,
    escaped: Vec<(Key, f64)>,
}

impl Entries {
    pub(super) fn len(&self) -> usize {
        self.words.len()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8 + self.escaped.capacity() * 16
    }

    pub(super) fn push(&mut self, key: Key, size: f64, scale: Scale) {
        if self.words.len() == self.words.capacity() {
            self.words.reserve_exact(self.words.len() / 8 + 4096);
        }
        match mantissa(size, scale.factor) {
            Some(mantissa) if key < KEY_LIMIT => {
                self.words.push(u64::from(key) << MANTISSA_BITS | mantissa);
            }
            _ => {
                self.words.push(ESCAPED | self.escaped.len() as u64);
                self.escaped.push((key, size));
            }
        }
    }

    /// Keeps the first `len` entries.
    pub(super) fn truncate(&mut self, len: usize) {
        if let Some(dropped) = self.words.get(len..) {
            let escaped = dropped.iter().filter(|word| *word & ESCAPED != 0).count();
            self.escaped.truncate(self.escaped.len() - escaped);
        }
        self.words.truncate(len);
    }

    /// The entries `range`, in order.
    #[inline]
    pub(super) fn get(
        &self,
        range: std::ops::Range<usize>,
        scale: Scale,
    ) -> impl Iterator<Item = (Key, f64)> + '_ {
        self.words[range].iter().map(move |&word| {
            if word & ESCAPED == 0 {
                (
                    (word >> MANTISSA_BITS) as Key,
                    scale.size(word & MANTISSA_MASK),
                )
            } else {
                self.escaped[(word & !ESCAPED) as usize]
            }
        })
    }
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
        for (key, size) in sizes.iter().enumerate() {
            entries.push(key as Key * 1000, *size, scale);
        }
        let back: Vec<_> = entries.get(0..sizes.len(), scale).collect();
        for (key, size) in sizes.iter().enumerate() {
            assert_eq!(back[key], (key as Key * 1000, *size));
        }
        entries.truncate(3);
        entries.push(7, 0.1 + 0.2, scale);
        let back: Vec<_> = entries.get(0..4, scale).collect();
        assert_eq!(back[3], (7, 0.1 + 0.2));
    }
}
