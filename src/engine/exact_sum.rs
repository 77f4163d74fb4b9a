//! Exact sums of `f64`s: a fixed-point number wide enough to hold any sum of book sizes, and a
//! running sum built on it whose value does not depend on the order of its terms.

use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Bits after the binary point of a [`Fixed`]: its resolution is 2^-160.
const FRACTION_BITS: i32 = 160;
/// The stored fraction bits of an `f64` (its mantissa without the leading 1).
const FRACTION_MASK: u64 = (1 << 52) - 1;
/// The biased exponent of 2^-108: from there up, a whole 53-bit mantissa is at or above 2^-160.
const WHOLE_MANTISSA_MIN: u64 = 1023 - 108;
/// Shifts (see [`Units`]) from this one up put a mantissa's top bit on the sign bit of a
/// [`Fixed`]: the value is 2^95 or more.
const FIXED_SHIFT_END: u32 = 255 - 52;
/// Shifts from this one up make a term 2^60 or more, which an [`ExactSum`] does not hold.
const TERM_SHIFT_END: u32 = 60 + FRACTION_BITS as u32 - 52;
/// Bits of the fixed-point units covered by each bucket of an [`ExactSum`].
const BUCKET_BITS: u32 = 32;
/// Buckets of an [`ExactSum`]: enough for every shift below [`TERM_SHIFT_END`].
const BUCKETS: usize = TERM_SHIFT_END.div_ceil(BUCKET_BITS) as usize;
// `ExactSum::get` adds the buckets two by two (even and odd ones): six of 32 bits.
const _: () = assert!(BUCKETS == 6 && BUCKET_BITS == 32);

/// A finite `f64` in units of 2^-160: `±mantissa << shift`, the form that both [`Fixed`] and
/// [`ExactSum`] put into place.
#[derive(Debug, Clone, Copy)]
struct Units {
    negative: bool,
    /// At most 53 bits.
    mantissa: u64,
    shift: u32,
}

impl Units {
    /// `value` in units of 2^-160, or `None` when it is not finite or has a bit below 2^-160
    /// (subnormals, and tiny values with a full mantissa).
    #[inline]
    fn of(value: f64) -> Option<Units> {
        let bits = value.to_bits();
        // The common case (every size of a real book) in one compare: positive, finite and
        // 2^-108 or more, so that the whole mantissa lands at or above 2^-160. The sign bit is
        // above the exponent, so a negative value is not in this range.
        let sign_and_exponent = bits >> 52;
        if (WHOLE_MANTISSA_MIN..0x7ff).contains(&sign_and_exponent) {
            return Some(Units {
                negative: false,
                mantissa: (bits & FRACTION_MASK) | (1 << 52),
                shift: (sign_and_exponent - WHOLE_MANTISSA_MIN) as u32,
            });
        }
        Units::of_any(bits)
    }

    /// [`Units::of`] for the bits of any value: negative, tiny, zero or not finite.
    fn of_any(bits: u64) -> Option<Units> {
        let negative = bits >> 63 == 1;
        let biased_exponent = (bits >> 52) & 0x7ff;
        let fraction = bits & FRACTION_MASK;
        if biased_exponent == 0x7ff {
            return None;
        }
        if biased_exponent == 0 {
            // Zero is held; a subnormal (below 2^-1022) is far below the resolution.
            return (fraction == 0).then_some(Units {
                negative,
                mantissa: 0,
                shift: 0,
            });
        }
        let mantissa = fraction | (1 << 52);
        if biased_exponent >= WHOLE_MANTISSA_MIN {
            let shift = (biased_exponent - WHOLE_MANTISSA_MIN) as u32;
            return Some(Units {
                negative,
                mantissa,
                shift,
            });
        }
        // Below 2^-108, held only if the bits that fall below 2^-160 are zeros.
        let below = (WHOLE_MANTISSA_MIN - biased_exponent) as u32;
        (mantissa.trailing_zeros() >= below).then(|| Units {
            negative,
            mantissa: mantissa >> below,
            shift: 0,
        })
    }
}

/// A signed fixed-point number: a 256-bit two's-complement integer counting units of 2^-160,
/// as two 128-bit halves. It holds every multiple of 2^-160 of magnitude below 2^95 exactly.
///
/// Why fixed point: adding and subtracting integers is exact and associative, so a running
/// sum that sees a term come and go ends where it started, and two histories that leave the
/// same terms give the same bits. `f64` arithmetic has neither property: after a 1e15 size
/// comes and goes, the sum of the small sizes left has lost most of its digits.
///
/// Why these widths: an `f64` of magnitude at least 2^-108 has its last bit at or above
/// 2^-160, so every size a recording can hold (SPEC caps them at 1e15, and a size below 1e-30
/// is nonsense) is a `Fixed`; the 95 integer bits leave room for 2^35 terms below 2^60.
///
/// Arithmetic wraps modulo 2^256, so a sum is exact as long as its final value is in range,
/// whatever its intermediate values were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Fixed {
    high: u128,
    low: u128,
}

impl Fixed {
    pub const ZERO: Fixed = Fixed { high: 0, low: 0 };

    /// `value` exactly, or `None` when it is not finite, its magnitude is 2^95 or more, or it
    /// has a bit below 2^-160 (subnormals, and tiny values with a full mantissa).
    pub fn from_f64(value: f64) -> Option<Fixed> {
        let units = Units::of(value)?;
        if units.shift >= FIXED_SHIFT_END {
            return None;
        }
        let magnitude = Fixed::shifted(i128::from(units.mantissa), units.shift);
        Some(if units.negative {
            -magnitude
        } else {
            magnitude
        })
    }

    /// `value << shift` units, sign extended to 256 bits (for a shift below 256).
    #[inline]
    fn shifted(value: i128, shift: u32) -> Fixed {
        let low = value as u128;
        let extension = (value >> 127) as u128;
        match shift {
            0 => Fixed {
                high: extension,
                low,
            },
            1..128 => Fixed {
                high: (extension << shift) | (low >> (128 - shift)),
                low: low << shift,
            },
            _ => Fixed {
                high: low << (shift - 128),
                low: 0,
            },
        }
    }

    /// `self * 2^32`, wrapping modulo 2^256.
    #[inline]
    fn shl_32(self) -> Fixed {
        Fixed {
            high: (self.high << 32) | (self.low >> 96),
            low: self.low << 32,
        }
    }

    #[inline]
    pub fn is_zero(self) -> bool {
        self == Fixed::ZERO
    }

    #[inline]
    pub fn is_negative(self) -> bool {
        (self.high as i128) < 0
    }

    /// The nearest `f64` (ties to even), so a function of the value alone, never of how it was
    /// summed.
    ///
    /// The 64 bits of the magnitude from its leading one down are converted by the (correctly
    /// rounding) `u64 as f64` cast, with the bits below them folded into the lowest bit as a
    /// sticky bit: that bit lies far below the rounding position (bit 11), so it turns an
    /// exact half into "above half" only when something was dropped, and changes nothing
    /// else. Scaling by a power of two is then exact: the result lies between 2^-160 and 2^96,
    /// well inside the normal range. Working on 64-bit limbs rather than 128-bit halves keeps
    /// the shifts single instructions and the cast a few, where `u128 as f64` is a library
    /// call: OBI converts two sums after every book row.
    pub fn to_f64(self) -> f64 {
        let negative = self.is_negative();
        // -(-2^255) wraps to itself, whose bits read unsigned are the right magnitude.
        let Fixed { high, low } = if negative { -self } else { self };
        let (l3, l2, l1, l0) = (
            (high >> 64) as u64,
            high as u64,
            (low >> 64) as u64,
            low as u64,
        );
        // The highest limb that is not zero, the limb below it, whether any bit below those
        // two is set, and the weight (in units, as a power of two) of the first one's bit 0.
        let (first, second, below, weight) = if l3 != 0 {
            (l3, l2, (l1 | l0) != 0, 192)
        } else if l2 != 0 {
            (l2, l1, l0 != 0, 128)
        } else if l1 != 0 {
            (l1, l0, false, 64)
        } else {
            (l0, 0, false, 0)
        };
        if first == 0 {
            return 0.0;
        }
        let lz = first.leading_zeros();
        let (top, dropped) = if lz == 0 {
            (first, second)
        } else {
            ((first << lz) | (second >> (64 - lz)), second << lz)
        };
        let sticky = u64::from(dropped != 0 || below);
        let magnitude = (top | sticky) as f64 * pow2(weight - lz as i32 - FRACTION_BITS);
        if negative { -magnitude } else { magnitude }
    }
}

/// 2^`exponent`, for an exponent in the normal range.
#[inline]
fn pow2(exponent: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&exponent));
    f64::from_bits(((1023 + exponent) as u64) << 52)
}

impl Add for Fixed {
    type Output = Fixed;

    /// The sum, wrapping modulo 2^256: the carry out of the low half goes into the high one.
    #[inline]
    fn add(self, other: Fixed) -> Fixed {
        let (low, carry) = self.low.overflowing_add(other.low);
        Fixed {
            high: self
                .high
                .wrapping_add(other.high)
                .wrapping_add(u128::from(carry)),
            low,
        }
    }
}

impl Sub for Fixed {
    type Output = Fixed;

    /// The difference, wrapping modulo 2^256: the borrow out of the low half comes from the
    /// high one.
    #[inline]
    fn sub(self, other: Fixed) -> Fixed {
        let (low, borrow) = self.low.overflowing_sub(other.low);
        Fixed {
            high: self
                .high
                .wrapping_sub(other.high)
                .wrapping_sub(u128::from(borrow)),
            low,
        }
    }
}

impl Neg for Fixed {
    type Output = Fixed;

    #[inline]
    fn neg(self) -> Fixed {
        Fixed::ZERO - self
    }
}

impl AddAssign for Fixed {
    #[inline]
    fn add_assign(&mut self, other: Fixed) {
        *self = *self + other;
    }
}

impl SubAssign for Fixed {
    #[inline]
    fn sub_assign(&mut self, other: Fixed) {
        *self = *self - other;
    }
}

/// The exact sum of a changing collection of `f64` terms: terms are added and removed in any
/// order, and the sum is always that of the terms present, to the last bit.
///
/// A term a [`Fixed`] cannot hold, or of magnitude 2^60 or more (which could overflow a sum of
/// many), is counted instead of added, and while any such term is present there is no exact
/// sum: the caller falls back to adding the terms in floating point. Whether a term is held
/// depends on its value alone, so removing it undoes exactly what adding it did.
///
/// Representation: the sum is kept in buckets with the carries left pending. A term
/// `mantissa << shift` (in units of 2^-160) adds `mantissa << (shift % 32)`, under 2^84, to
/// `buckets[shift / 32]`, and the sum is `buckets[k] << 32k` summed over `k`, a [`Fixed`] built
/// when it is read. Why: a book changes many levels per read of its sums, and adding to one
/// `i128` is one add-with-carry pair, where placing a term among 256 bits takes a shift across
/// words and a chain of carries through them. Each bucket holds the exact sum of the pieces of
/// the terms present (under 2^43 of them, it cannot overflow), so its value too depends on
/// those terms alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactSum {
    buckets: [i128; BUCKETS],
    not_held: usize,
}

/// What a term adds to an [`ExactSum`]: `value` to bucket `bucket`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    bucket: usize,
    value: i128,
}

impl ExactSum {
    /// Adds `term`.
    #[inline]
    pub fn add(&mut self, term: f64) {
        match ExactSum::piece(term) {
            Some(piece) => self.put(piece),
            None => self.not_held += 1,
        }
    }

    /// Removes `term`, which must be present (added and not removed since).
    #[inline]
    pub fn remove(&mut self, term: f64) {
        match ExactSum::piece(term) {
            Some(Piece { bucket, value }) => self.put(Piece {
                bucket,
                value: value.wrapping_neg(),
            }),
            None => {
                debug_assert!(self.not_held > 0, "removing a term that was never added");
                self.not_held -= 1;
            }
        }
    }

    /// Replaces the present term `old` with `new`.
    #[inline]
    pub fn replace(&mut self, old: f64, new: f64) {
        self.remove(old);
        self.add(new);
    }

    /// Removes every term.
    #[inline]
    pub fn clear(&mut self) {
        *self = ExactSum::default();
    }

    /// The exact sum of the terms present, `None` while one of them is not held.
    pub fn get(&self) -> Option<Fixed> {
        if self.not_held > 0 {
            return None;
        }
        // The buckets at even multiples of 32 bits start on 64-bit limbs, where putting them
        // in place shifts nothing; the odd ones are added the same way, and their sum is
        // shifted by 32 bits once (multiplying by 2^32 modulo 2^256 commutes with the sum).
        // OBI reads both sides' sums after every book row.
        let [b0, b1, b2, b3, b4, b5] = self.buckets;
        let even = Fixed::shifted(b0, 0) + Fixed::shifted(b2, 64) + Fixed::shifted(b4, 128);
        let odd = Fixed::shifted(b1, 0) + Fixed::shifted(b3, 64) + Fixed::shifted(b5, 128);
        Some(even + odd.shl_32())
    }

    /// What `term` adds, `None` when it is not held.
    ///
    /// Every size of a real book takes the first branch: one compare of the biased exponent
    /// tells that the term is positive (the sign bit is above the exponent), that its whole
    /// mantissa is at or above 2^-160, and that it is below 2^60 (so finite), and the shift
    /// it gives is then known to be in range. The rest (negative terms, zero, tiny or huge
    /// ones) go the general way through [`Units::of`].
    #[inline]
    fn piece(term: f64) -> Option<Piece> {
        let bits = term.to_bits();
        let shift = (bits >> 52).wrapping_sub(WHOLE_MANTISSA_MIN);
        if shift < u64::from(TERM_SHIFT_END) {
            let mantissa = (bits & FRACTION_MASK) | (1 << 52);
            return Some(Piece {
                bucket: (shift / u64::from(BUCKET_BITS)) as usize,
                value: i128::from(mantissa) << (shift % u64::from(BUCKET_BITS)),
            });
        }
        ExactSum::piece_of_any(term)
    }

    /// [`ExactSum::piece`] for any term.
    #[cold]
    fn piece_of_any(term: f64) -> Option<Piece> {
        let units = Units::of(term)?;
        if units.shift >= TERM_SHIFT_END {
            return None;
        }
        let value = i128::from(units.mantissa) << (units.shift % BUCKET_BITS);
        Some(Piece {
            bucket: (units.shift / BUCKET_BITS) as usize,
            value: if units.negative { -value } else { value },
        })
    }

    #[inline]
    fn put(&mut self, Piece { bucket, value }: Piece) {
        self.buckets[bucket] = self.buckets[bucket].wrapping_add(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Ordering;

    fn fixed(value: f64) -> Fixed {
        Fixed::from_f64(value).unwrap_or_else(|| panic!("{value:e} is not a Fixed"))
    }

    /// The `Fixed` of `units` units of 2^-160.
    fn units(units: i128) -> Fixed {
        let extend = if units < 0 { u128::MAX } else { 0 };
        Fixed {
            high: extend,
            low: units as u128,
        }
    }

    /// The `Fixed` of four 64-bit limbs, least significant first.
    fn limbs([l0, l1, l2, l3]: [u64; 4]) -> Fixed {
        Fixed {
            high: (u128::from(l3) << 64) | u128::from(l2),
            low: (u128::from(l1) << 64) | u128::from(l0),
        }
    }

    /// Orders magnitudes: the limbs of the absolute values, most significant first.
    fn cmp_abs(a: Fixed, b: Fixed) -> Ordering {
        let abs = |x: Fixed| if x.is_negative() { -x } else { x };
        let (a, b) = (abs(a), abs(b));
        (a.high, a.low).cmp(&(b.high, b.low))
    }

    /// Whether `rounded` is the `f64` nearest to `exact`, ties to even: neither neighbour of
    /// `rounded` is nearer, and on a tie its mantissa is even. Independent of how `to_f64`
    /// rounds: it only compares exact differences. (For values below 2^94, so that `rounded`
    /// and its neighbours are `Fixed`s.)
    fn is_nearest(exact: Fixed, rounded: f64) -> bool {
        let Some(at) = Fixed::from_f64(rounded) else {
            return false;
        };
        let error = exact - at;
        let bits = rounded.to_bits();
        [bits.wrapping_add(1), bits.wrapping_sub(1)]
            .into_iter()
            .map(f64::from_bits)
            .filter_map(Fixed::from_f64)
            .all(|neighbour| match cmp_abs(error, exact - neighbour) {
                Ordering::Less => true,
                Ordering::Equal => bits & 1 == 0,
                Ordering::Greater => false,
            })
    }

    #[test]
    fn from_f64_holds_what_fits_and_refuses_the_rest() {
        let largest_mantissa = (1u64 << 53) - 1;
        let cases: &[(&str, f64, Option<Fixed>)] = &[
            ("zero", 0.0, Some(Fixed::ZERO)),
            ("negative zero", -0.0, Some(Fixed::ZERO)),
            ("one: bit 160", 1.0, Some(limbs([0, 0, 1 << 32, 0]))),
            ("minus one", -1.0, Some(limbs([0, 0, !0 << 32, !0]))),
            ("the resolution", pow2(-160), Some(units(1))),
            ("minus the resolution", -pow2(-160), Some(units(-1))),
            (
                "a short mantissa at the bottom",
                3.0 * pow2(-160),
                Some(units(3)),
            ),
            (
                "a mantissa across limbs 0 and 1",
                largest_mantissa as f64 * pow2(-160 + 40),
                Some(limbs([
                    largest_mantissa << 40,
                    largest_mantissa >> 24,
                    0,
                    0,
                ])),
            ),
            (
                "the largest below 2^95: up to bit 254",
                largest_mantissa as f64 * pow2(95 - 53),
                Some(limbs([0, 0, 0, largest_mantissa << 10])),
            ),
            ("half the resolution", pow2(-161), None),
            (
                "a full mantissa too far down",
                (1.0 + f64::EPSILON) * pow2(-110),
                None,
            ),
            ("a subnormal", f64::from_bits(1), None),
            ("2^95", pow2(95), None),
            ("-2^95", -pow2(95), None),
            ("infinity", f64::INFINITY, None),
            ("NaN", f64::NAN, None),
        ];
        for &(name, value, expected) in cases {
            assert_eq!(Fixed::from_f64(value), expected, "case {name}");
        }
    }

    #[test]
    fn carries_and_borrows_cross_every_limb() {
        let below_limb_3 = limbs([!0, !0, !0, 0]);
        assert_eq!(below_limb_3 + units(1), limbs([0, 0, 0, 1]));
        assert_eq!(limbs([0, 0, 0, 1]) - units(1), below_limb_3);
        assert_eq!(-units(1), limbs([!0; 4]));
        assert_eq!(Fixed::ZERO - units(1) + units(1), Fixed::ZERO);
        // The resolution survives a trip of 2^94 through the top limb.
        let huge = fixed(pow2(94));
        assert_eq!(units(1) + huge - huge, units(1));
        assert_eq!((units(1) - huge).to_f64(), -pow2(94));
    }

    #[test]
    fn to_f64_rounds_to_nearest_even() {
        let cases: &[(&str, Fixed, f64)] = &[
            ("zero", Fixed::ZERO, 0.0),
            ("the resolution", units(1), pow2(-160)),
            ("minus one", fixed(-1.0), -1.0),
            ("0.1 as parsed", fixed(0.1), 0.1),
            (
                "2^53 + 1 units: tie, down to even",
                units((1 << 53) + 1),
                pow2(53 - 160),
            ),
            (
                "2^53 + 3 units: tie, up to even",
                units((1 << 53) + 3),
                ((1u64 << 53) + 4) as f64 * pow2(-160),
            ),
            (
                "2^53 + 1 units then a dropped bit: above the tie, up",
                limbs([1, 0, 0, ((1 << 53) + 1) << 8]),
                ((1u64 << 53) + 2) as f64 * pow2(200 - 160),
            ),
            (
                "the same without the dropped bit: a tie, down",
                limbs([0, 0, 0, ((1 << 53) + 1) << 8]),
                pow2(253 - 160),
            ),
            (
                "-2^255: the most negative",
                limbs([0, 0, 0, 1 << 63]),
                -pow2(95),
            ),
            (
                "2^255 - 1: the most positive",
                limbs([!0, !0, !0, !0 >> 1]),
                pow2(95),
            ),
        ];
        for &(name, value, expected) in cases {
            assert_eq!(value.to_f64(), expected, "case {name}");
        }
    }

    #[test]
    fn the_small_terms_survive_a_huge_one() {
        let mut sum = ExactSum::default();
        let mut naive = 0.0;
        for term in [0.1, 1e15, 0.2, 0.3] {
            sum.add(term);
            naive += term;
        }
        sum.remove(1e15);
        naive -= 1e15;
        assert_eq!(sum.get(), Some(fixed(0.1) + fixed(0.2) + fixed(0.3)));
        assert_eq!(sum.get().map(Fixed::to_f64), Some(0.6));
        assert_eq!(naive, 0.625, "f64 keeps only the bits the 1e15 left");
    }

    #[test]
    fn a_term_not_held_suspends_the_sum_while_present() {
        let cases: &[(&str, f64)] = &[
            ("2^60", pow2(60)),
            ("the largest f64", f64::MAX),
            ("a subnormal", f64::from_bits(3)),
            ("bits below 2^-160", 1e-40),
        ];
        for &(name, odd) in cases {
            let mut sum = ExactSum::default();
            sum.add(2.5);
            sum.add(odd);
            sum.add(odd);
            assert_eq!(sum.get(), None, "case {name}: present");
            sum.replace(odd, 1.0);
            assert_eq!(sum.get(), None, "case {name}: one still present");
            sum.remove(odd);
            assert_eq!(sum.get(), Some(fixed(3.5)), "case {name}: gone");
            sum.add(odd);
            sum.clear();
            assert_eq!(sum.get(), Some(Fixed::ZERO), "case {name}: cleared");
        }
    }

    fn arb_limb() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0), Just(1), Just(!0), Just(1 << 63), any::<u64>()]
    }

    /// Any value of magnitude below 2^254 (so that it rounds below 2^95), of either sign.
    fn arb_fixed() -> impl Strategy<Value = Fixed> {
        (
            [arb_limb(), arb_limb(), arb_limb(), arb_limb()],
            any::<bool>(),
        )
            .prop_map(|([l0, l1, l2, l3], negative)| {
                let value = limbs([l0, l1, l2, l3 >> 2]);
                if negative { -value } else { value }
            })
    }

    /// A size a book could hold, one it cannot hold exactly, or a negative term.
    fn arb_term() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => (1u32..100_000).prop_map(|n| f64::from(n) / 1000.0),
            2 => 1e-9f64..1e15,
            1 => -1e6f64..-1e-9,
            1 => Just(1e15),
            1 => Just(pow2(-160)),
            1 => Just(pow2(60) * (1.0 - f64::EPSILON)),
            1 => Just(pow2(61)),
            1 => Just(1e-45),
        ]
    }

    /// `Fixed::to_f64` as it was first written, on 128-bit halves and `u128 as f64`.
    fn to_f64_by_halves(value: Fixed) -> f64 {
        let negative = value.is_negative();
        let Fixed { high, low } = if negative { -value } else { value };
        let magnitude = if high == 0 {
            low as f64 * pow2(-FRACTION_BITS)
        } else {
            let drop = 128 - high.leading_zeros();
            let (top, dropped) = if drop == 128 {
                (high, low)
            } else {
                ((high << (128 - drop)) | (low >> drop), low << (128 - drop))
            };
            let sticky = u128::from(dropped != 0);
            (top | sticky) as f64 * pow2(drop as i32 - FRACTION_BITS)
        };
        if negative { -magnitude } else { magnitude }
    }

    proptest! {
        /// The conversion on 64-bit limbs gives the bits the one on 128-bit halves gave.
        #[test]
        fn to_f64_agrees_with_the_conversion_by_halves(value in arb_fixed()) {
            prop_assert_eq!(value.to_f64().to_bits(), to_f64_by_halves(value).to_bits());
        }

        #[test]
        fn to_f64_is_correctly_rounded(value in arb_fixed()) {
            prop_assert!(is_nearest(value, value.to_f64()), "{:?} -> {:e}", value, value.to_f64());
        }

        /// Ties at every position, with and without a set bit below them.
        #[test]
        fn to_f64_breaks_ties_to_even(mantissa in 0u64..(1 << 52), shift in 0u32..200, sticky in any::<bool>()) {
            // 54 significant bits, the last one set: halfway between two `f64`s.
            let tie = Fixed::shifted(i128::from((((1 << 52) | mantissa) << 1) | 1), shift);
            let value = if sticky && shift > 0 { tie + units(1) } else { tie };
            prop_assert!(is_nearest(value, value.to_f64()));
        }

        #[test]
        fn add_and_sub_round_trip(a in arb_fixed(), b in arb_fixed()) {
            prop_assert_eq!(a + b - b, a);
            prop_assert_eq!(a - b + b, a);
            prop_assert_eq!(a + b, b + a);
            prop_assert_eq!(-(-a), a);
        }

        /// Terms with bits only from 2^-20 to 2^12 add up exactly in `f64` too, in any order.
        #[test]
        fn agrees_with_an_exact_f64_sum(terms in prop::collection::vec(1u32.., 0..100)) {
            let terms: Vec<f64> = terms.iter().map(|&n| f64::from(n) * pow2(-20)).collect();
            let mut sum = ExactSum::default();
            terms.iter().for_each(|&term| sum.add(term));
            let naive: f64 = terms.iter().sum();
            prop_assert_eq!(sum.get(), Some(fixed(naive)));
            prop_assert_eq!(sum.get().map(Fixed::to_f64), Some(naive));
        }

        /// The fast path of `piece` gives what the general one gives, on any bits and on the
        /// edges of its range (the smallest and largest exponents it takes, and their
        /// neighbours).
        #[test]
        fn piece_agrees_with_the_general_path(
            bits in prop_oneof![
                any::<u64>(),
                arb_term().prop_map(f64::to_bits),
                (0u64..(1 << 52), prop::sample::select(vec![
                    WHOLE_MANTISSA_MIN - 1,
                    WHOLE_MANTISSA_MIN,
                    WHOLE_MANTISSA_MIN + u64::from(TERM_SHIFT_END) - 1,
                    WHOLE_MANTISSA_MIN + u64::from(TERM_SHIFT_END),
                    0x7ff,
                    0x800 | WHOLE_MANTISSA_MIN,
                ]))
                    .prop_map(|(fraction, exponent)| (exponent << 52) | fraction),
            ],
        ) {
            let term = f64::from_bits(bits);
            let pair = |piece: Option<Piece>| piece.map(|p| (p.bucket, p.value));
            prop_assert_eq!(pair(ExactSum::piece(term)), pair(ExactSum::piece_of_any(term)));
        }

        /// After any adds and removes, the sum is that of the terms left, added afresh in
        /// another order, and exists exactly when every term left is held.
        #[test]
        fn the_sum_is_that_of_the_terms_present(
            steps in prop::collection::vec((arb_term(), any::<bool>()), 0..60),
        ) {
            let mut sum = ExactSum::default();
            let mut present: Vec<f64> = Vec::new();
            for (term, remove) in steps {
                match present.iter().position(|&p| p == term) {
                    Some(i) if remove => {
                        sum.remove(present.swap_remove(i));
                    }
                    _ => {
                        sum.add(term);
                        present.push(term);
                    }
                }
            }
            let mut afresh = ExactSum::default();
            present.iter().rev().for_each(|&term| afresh.add(term));
            prop_assert_eq!(sum.get(), afresh.get());
            let all_held = present.iter().all(|&t| ExactSum::piece(t).is_some());
            prop_assert_eq!(sum.get().is_some(), all_held);
            if all_held {
                let fixed_sum = present.iter().fold(Fixed::ZERO, |sum, &t| sum + fixed(t));
                prop_assert_eq!(sum.get(), Some(fixed_sum));
            }
        }
    }
}
