//! Exact sums of `f64`s: a fixed-point number wide enough to hold any sum of book sizes, and a
//! running sum built on it whose value does not depend on the order of its terms.

use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Bits after the binary point of a [`Fixed`]: its resolution is 2^-160.
const FRACTION_BITS: i32 = 160;
/// Bits of a [`Fixed`], the sign bit included.
const BITS: i32 = 256;
/// 2^60: terms of an [`ExactSum`] must stay below it (in magnitude) to be held exactly.
const TERM_LIMIT: f64 = (1u64 << 60) as f64;

/// A signed fixed-point number: a 256-bit two's-complement integer counting units of 2^-160,
/// in four 64-bit limbs, least significant first. It holds every multiple of 2^-160 of
/// magnitude below 2^95 exactly.
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
pub struct Fixed([u64; 4]);

impl Fixed {
    pub const ZERO: Fixed = Fixed([0; 4]);

    /// `value` exactly, or `None` when it is not finite, its magnitude is 2^95 or more, or it
    /// has a bit below 2^-160 (subnormals, and tiny values with a full mantissa).
    pub fn from_f64(value: f64) -> Option<Fixed> {
        if !value.is_finite() {
            return None;
        }
        if value == 0.0 {
            return Some(Fixed::ZERO);
        }
        let bits = value.to_bits();
        let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
        if biased_exponent == 0 {
            // Subnormal: below 2^-1022, far below the resolution.
            return None;
        }
        // |value| = mantissa * 2^(biased_exponent - 1075), so in units of 2^-160 it is
        // `mantissa` shifted left by `shift`; trailing zeros are dropped first so that a
        // short mantissa may sit below 2^-160 without losing a bit.
        let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
        let zeros = mantissa.trailing_zeros();
        let mantissa = mantissa >> zeros;
        let shift = biased_exponent - 1075 + FRACTION_BITS + zeros as i32;
        let width = 64 - mantissa.leading_zeros() as i32;
        if shift < 0 || shift + width > BITS - 1 {
            return None;
        }
        let magnitude = Fixed::shifted(mantissa, shift as u32);
        Some(if value < 0.0 { -magnitude } else { magnitude })
    }

    /// `mantissa << shift` (a mantissa of at most 53 bits, landing below bit 255).
    #[inline]
    fn shifted(mantissa: u64, shift: u32) -> Fixed {
        let limb = (shift / 64) as usize;
        let wide = u128::from(mantissa) << (shift % 64);
        let mut limbs = [0; 4];
        limbs[limb] = wide as u64;
        if let Some(next) = limbs.get_mut(limb + 1) {
            *next = (wide >> 64) as u64;
        }
        Fixed(limbs)
    }

    #[inline]
    pub fn is_zero(self) -> bool {
        self == Fixed::ZERO
    }

    #[inline]
    pub fn is_negative(self) -> bool {
        (self.0[3] as i64) < 0
    }

    /// The nearest `f64` (ties to even), so a function of the value alone, never of how it was
    /// summed.
    ///
    /// The magnitude's top 128 bits are converted by the (correctly rounding) `u128 as f64`
    /// cast, with the bits below them folded into the lowest bit as a sticky bit: that bit lies
    /// far below the rounding position (bit 74), so it turns an exact half into "above half"
    /// only when something was dropped, and changes nothing else. Scaling by a power of two is
    /// then exact: the result lies between 2^-160 and 2^96, well inside the normal range.
    pub fn to_f64(self) -> f64 {
        let negative = self.is_negative();
        // -(-2^255) wraps to itself, whose bits read unsigned are the right magnitude.
        let [l0, l1, l2, l3] = if negative { (-self).0 } else { self.0 };
        let high = (u128::from(l3) << 64) | u128::from(l2);
        let low = (u128::from(l1) << 64) | u128::from(l0);
        let magnitude = if high == 0 {
            low as f64 * pow2(-FRACTION_BITS)
        } else {
            // Bits to drop so that 128 remain: 1 to 128.
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
}

/// 2^`exponent`, for an exponent in the normal range.
#[inline]
fn pow2(exponent: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&exponent));
    f64::from_bits(((1023 + exponent) as u64) << 52)
}

/// `a + b` modulo 2^256, limb by limb from the least significant, carrying.
#[inline]
fn add_limbs(a: [u64; 4], b: [u64; 4]) -> [u64; 4] {
    let mut sum = [0; 4];
    let mut carry = false;
    for (out, (a, b)) in sum.iter_mut().zip(a.into_iter().zip(b)) {
        let (partial, carry_a) = a.overflowing_add(b);
        let (total, carry_b) = partial.overflowing_add(u64::from(carry));
        *out = total;
        carry = carry_a | carry_b;
    }
    sum
}

/// `a - b` modulo 2^256, limb by limb from the least significant, borrowing.
#[inline]
fn sub_limbs(a: [u64; 4], b: [u64; 4]) -> [u64; 4] {
    let mut difference = [0; 4];
    let mut borrow = false;
    for (out, (a, b)) in difference.iter_mut().zip(a.into_iter().zip(b)) {
        let (partial, borrow_a) = a.overflowing_sub(b);
        let (total, borrow_b) = partial.overflowing_sub(u64::from(borrow));
        *out = total;
        borrow = borrow_a | borrow_b;
    }
    difference
}

impl Add for Fixed {
    type Output = Fixed;

    /// The sum, wrapping modulo 2^256.
    #[inline]
    fn add(self, other: Fixed) -> Fixed {
        Fixed(add_limbs(self.0, other.0))
    }
}

impl Sub for Fixed {
    type Output = Fixed;

    /// The difference, wrapping modulo 2^256.
    #[inline]
    fn sub(self, other: Fixed) -> Fixed {
        Fixed(sub_limbs(self.0, other.0))
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
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactSum {
    held: Fixed,
    not_held: usize,
}

impl ExactSum {
    /// Adds `term`.
    #[inline]
    pub fn add(&mut self, term: f64) {
        match ExactSum::hold(term) {
            Some(term) => self.held += term,
            None => self.not_held += 1,
        }
    }

    /// Removes `term`, which must be present (added and not removed since).
    #[inline]
    pub fn remove(&mut self, term: f64) {
        match ExactSum::hold(term) {
            Some(term) => self.held -= term,
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
    #[inline]
    pub fn get(&self) -> Option<Fixed> {
        (self.not_held == 0).then_some(self.held)
    }

    #[inline]
    fn hold(term: f64) -> Option<Fixed> {
        if term.abs() < TERM_LIMIT {
            Fixed::from_f64(term)
        } else {
            None
        }
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
        let extend = if units < 0 { u64::MAX } else { 0 };
        Fixed([units as u64, (units >> 64) as u64, extend, extend])
    }

    /// Orders magnitudes: the limbs of the absolute values, most significant first.
    fn cmp_abs(a: Fixed, b: Fixed) -> Ordering {
        let abs = |x: Fixed| if x.is_negative() { (-x).0 } else { x.0 };
        abs(a).iter().rev().cmp(abs(b).iter().rev())
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
            ("one: bit 160", 1.0, Some(Fixed([0, 0, 1 << 32, 0]))),
            ("minus one", -1.0, Some(Fixed([0, 0, !0 << 32, !0]))),
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
                Some(Fixed([
                    largest_mantissa << 40,
                    largest_mantissa >> 24,
                    0,
                    0,
                ])),
            ),
            (
                "the largest below 2^95: up to bit 254",
                largest_mantissa as f64 * pow2(95 - 53),
                Some(Fixed([0, 0, 0, largest_mantissa << 10])),
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
        let below_limb_3 = Fixed([!0, !0, !0, 0]);
        assert_eq!(below_limb_3 + units(1), Fixed([0, 0, 0, 1]));
        assert_eq!(Fixed([0, 0, 0, 1]) - units(1), below_limb_3);
        assert_eq!(-units(1), Fixed([!0; 4]));
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
                Fixed([1, 0, 0, ((1 << 53) + 1) << 8]),
                ((1u64 << 53) + 2) as f64 * pow2(200 - 160),
            ),
            (
                "the same without the dropped bit: a tie, down",
                Fixed([0, 0, 0, ((1 << 53) + 1) << 8]),
                pow2(253 - 160),
            ),
            (
                "-2^255: the most negative",
                Fixed([0, 0, 0, 1 << 63]),
                -pow2(95),
            ),
            (
                "2^255 - 1: the most positive",
                Fixed([!0, !0, !0, !0 >> 1]),
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
                let value = Fixed([l0, l1, l2, l3 >> 2]);
                if negative { -value } else { value }
            })
    }

    /// A size a book could hold, or one it cannot hold exactly.
    fn arb_term() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => (1u32..100_000).prop_map(|n| f64::from(n) / 1000.0),
            2 => 1e-9f64..1e15,
            1 => Just(1e15),
            1 => Just(pow2(61)),
            1 => Just(1e-45),
        ]
    }

    proptest! {
        #[test]
        fn to_f64_is_correctly_rounded(value in arb_fixed()) {
            prop_assert!(is_nearest(value, value.to_f64()), "{:?} -> {:e}", value, value.to_f64());
        }

        /// Ties at every position, with and without a set bit below them.
        #[test]
        fn to_f64_breaks_ties_to_even(mantissa in 0u64..(1 << 52), shift in 0u32..200, sticky in any::<bool>()) {
            // 54 significant bits, the last one set: halfway between two `f64`s.
            let tie = Fixed::shifted((((1 << 52) | mantissa) << 1) | 1, shift);
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
            let all_held = present.iter().all(|&t| ExactSum::hold(t).is_some());
            prop_assert_eq!(sum.get().is_some(), all_held);
        }
    }
}
