//! `Price`: the total-order key of the order book's price levels.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// A book price: a finite, strictly positive `f64`, ordered by [`f64::total_cmp`].
///
/// Why an `f64` and not integer units at a fixed scale:
/// - the source parses decimal text correctly rounded, so the same text always gives the same
///   `f64`, and therefore the same key: an update `"41006.8"` finds the level that a snapshot
///   created from `"41006.8"`;
/// - every output (bars, depth, JSON) is an `f64` anyway, so nothing is lost on the way out;
/// - a fixed-point `i64` cannot hold both ends of what SPEC 1.2 allows: at a scale of 1e-8
///   (needed for small-priced coins) the largest price is about 9.2e10, far below 1e15.
///
/// Constructed only through [`Price::new`], which rejects NaN, infinities, zero and negative
/// values. On that domain `total_cmp` agrees with `<` and `==`, and equal prices have equal bits,
/// so `Eq`, `Ord` and `Hash` are consistent.
#[derive(Debug, Clone, Copy)]
pub struct Price(f64);

impl Price {
    /// A price of 1, for filling unused slots.
    pub(super) const ONE: Price = Price(1.0);

    /// The key for `value`, or `None` when `value` is not finite or not > 0.
    #[inline]
    pub fn new(value: f64) -> Option<Price> {
        is_positive_finite(value).then_some(Price(value))
    }

    /// The price as a number.
    #[inline]
    pub fn get(self) -> f64 {
        self.0
    }

    /// The bits of the price, in the same order as the prices: for finite values > 0 the IEEE
    /// 754 encoding is monotonic (this is also what `total_cmp` reduces to on them). Lets hot
    /// loops compare integers.
    #[inline]
    pub fn bits(self) -> u64 {
        self.0.to_bits()
    }
}

/// Whether `value` is finite and > 0 (subnormals included), tested on its bits.
///
/// Those values are exactly the bit patterns from 1 up to the largest finite `f64`, just below
/// the bits of infinity: zero is 0, every NaN and infinity is at or above infinity's bits, and
/// the sign bit puts every negative value (and -0) above them too. So it is one subtract and one
/// compare; `value.is_finite() && value > 0.0` compiles to a dozen instructions, and this runs
/// twice for every level of every book row (its price and its size).
#[inline]
pub(super) fn is_positive_finite(value: f64) -> bool {
    value.to_bits().wrapping_sub(1) < f64::INFINITY.to_bits() - 1
}

impl PartialEq for Price {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Price {}

impl PartialOrd for Price {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Price {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Hash for Price {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl From<Price> for f64 {
    fn from(price: Price) -> f64 {
        price.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn new_accepts_only_finite_positive_values() {
        let cases: &[(&str, f64, bool)] = &[
            ("ordinary", 41006.8, true),
            ("tiny", 1e-8, true),
            ("largest allowed", 1e15, true),
            ("smallest subnormal", f64::from_bits(1), true),
            ("zero", 0.0, false),
            ("negative zero", -0.0, false),
            ("negative", -1.0, false),
            ("nan", f64::NAN, false),
            ("infinity", f64::INFINITY, false),
            ("negative infinity", f64::NEG_INFINITY, false),
        ];
        for &(name, value, ok) in cases {
            assert_eq!(Price::new(value).is_some(), ok, "case {name}");
        }
    }

    #[test]
    fn orders_like_the_numbers() {
        let cases: &[(&str, f64, f64, Ordering)] = &[
            ("less", 1.0, 2.0, Ordering::Less),
            ("equal", 41006.8, 41006.8, Ordering::Equal),
            ("greater", 1e15, 1e-8, Ordering::Greater),
            ("neighbours", 1.0, 1.0 + f64::EPSILON, Ordering::Less),
        ];
        for &(name, a, b, expected) in cases {
            let (a, b) = (Price::new(a).unwrap(), Price::new(b).unwrap());
            assert_eq!(a.cmp(&b), expected, "case {name}");
            assert_eq!(a == b, expected == Ordering::Equal, "case {name}");
            assert_eq!(a.bits().cmp(&b.bits()), expected, "case {name}: bits");
        }
    }

    #[test]
    fn same_text_gives_the_same_key() {
        let a: f64 = "41006.8".parse().unwrap();
        let b: f64 = "41006.80".parse().unwrap();
        assert_eq!(Price::new(a), Price::new(b));
    }

    proptest! {
        /// The test on bits agrees with the float comparisons, on any bits and on the edges.
        #[test]
        fn is_positive_finite_agrees_with_the_float_comparisons(
            bits in prop_oneof![
                any::<u64>(),
                prop::sample::select(vec![
                    0,
                    1,
                    f64::MAX.to_bits(),
                    f64::INFINITY.to_bits(),
                    f64::INFINITY.to_bits() + 1,
                    f64::NAN.to_bits(),
                    (-0.0f64).to_bits(),
                    (-f64::MIN_POSITIVE).to_bits(),
                    f64::NEG_INFINITY.to_bits(),
                    u64::MAX,
                ]),
            ],
        ) {
            let value = f64::from_bits(bits);
            prop_assert_eq!(is_positive_finite(value), value.is_finite() && value > 0.0);
        }
    }
}
