//! Exact sums of sizes: volumes and CVD in fixed point, so a sum does not depend on its grouping.

use std::ops::{Add, AddAssign, Neg, Sub};

/// A size, volume or CVD as a whole number of units of 2^-50, held in an `i128`.
///
/// Why not `f64`: float addition is not associative, so a CVD summed from a different starting
/// point (a day processed on its own thread and stitched, issue 5) would differ from the
/// sequential sum in its last bits. Integer addition is associative, so `cvd_before + local`
/// is exactly the sequential sum, and shifting a metric bar's CVD by a constant is exact.
///
/// Each size is rounded to the grid once, deterministically (to the nearest unit), when it is
/// taken; values are converted to `f64` (correctly rounded) only when an output reads them.
/// The rounding error is at most 2^-51 (4.4e-16) per trade, far below the error of a naive
/// `f64` sum of the same sizes (which loses up to half an ulp of the running sum per addition,
/// 1e-13 for a CVD of 1000), and far below the 1e-9 tolerance of the comparisons with an
/// independent `f64` computation. Sizes below 2^-51 count as 0.
///
/// Range: every valid size is at most 1e15 < 2^50, so one is below 2^100 units and an `i128`
/// holds the sum of about 1.3e8 maximal trades. Additions wrap (they stay associative and never
/// panic); only sums beyond that, which no recording reaches, would wrap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i128);

/// Units per 1.0: 2^50.
const SCALE: f64 = (1u64 << 50) as f64;

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);

    /// `value` rounded to the nearest unit of 2^-50 (ties away from zero). Scaling by a power
    /// of two is exact, so the only rounding is that of `round`. A value that does not fit
    /// (never a valid size) saturates; NaN is 0.
    #[inline]
    pub fn from_f64(value: f64) -> Quantity {
        Quantity((value * SCALE).round() as i128)
    }

    /// The nearest `f64` (the integer-to-float conversion rounds to nearest; dividing by a
    /// power of two is exact).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE
    }
}

impl Add for Quantity {
    type Output = Quantity;
    #[inline]
    fn add(self, other: Quantity) -> Quantity {
        Quantity(self.0.wrapping_add(other.0))
    }
}

impl AddAssign for Quantity {
    #[inline]
    fn add_assign(&mut self, other: Quantity) {
        *self = *self + other;
    }
}

impl Sub for Quantity {
    type Output = Quantity;
    #[inline]
    fn sub(self, other: Quantity) -> Quantity {
        Quantity(self.0.wrapping_sub(other.0))
    }
}

impl Neg for Quantity {
    type Output = Quantity;
    #[inline]
    fn neg(self) -> Quantity {
        Quantity(self.0.wrapping_neg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grid_values_convert_exactly() {
        for value in [0.0, 1.0, -1.25, 0.5, 1e15, -1e15, 2f64.powi(-50), 96_000.1] {
            let back = Quantity::from_f64(value).to_f64();
            assert!((back - value).abs() <= 2f64.powi(-51), "{value} -> {back}");
        }
        assert_eq!(Quantity::from_f64(1e15).to_f64(), 1e15);
        assert_eq!(Quantity::from_f64(0.125).to_f64(), 0.125);
    }

    fn sum(sizes: &[f64]) -> Quantity {
        sizes
            .iter()
            .fold(Quantity::ZERO, |acc, &size| acc + Quantity::from_f64(size))
    }

    proptest! {
        /// Any split of a sequence of arbitrary valid sizes sums to the same bits: the sum of
        /// the first part plus the sum of the rest equals the whole sum, in either order.
        #[test]
        fn sums_are_exactly_associative(
            sizes in prop::collection::vec(
                prop_oneof![-1e15f64..1e15, -1.0f64..1.0, -1e-9f64..1e-9], 0..200),
            split in any::<prop::sample::Index>(),
        ) {
            let at = split.index(sizes.len() + 1);
            let whole = sum(&sizes);
            let (first, rest) = (sum(&sizes[..at]), sum(&sizes[at..]));
            prop_assert_eq!(first + rest, whole);
            prop_assert_eq!(rest + first, whole);
            prop_assert_eq!((whole - first).to_f64().to_bits(), rest.to_f64().to_bits());
        }

        /// The fixed-point sum stays within n * 2^-51 of the exact sum (here the f64 sum of
        /// sizes on a coarse grid, which is exact itself).
        #[test]
        fn rounding_error_is_at_most_half_a_unit_per_size(
            sizes in prop::collection::vec(0.0f64..1e6, 1..100),
        ) {
            let coarse: Vec<f64> = sizes.iter().map(|s| (s * 1024.0).round() / 1024.0).collect();
            let exact: f64 = coarse.iter().sum();
            prop_assert_eq!(sum(&coarse).to_f64(), exact);
            let fine = sum(&sizes).to_f64();
            let naive: f64 = sizes.iter().sum();
            prop_assert!((fine - naive).abs() <= 1e-9 * naive.max(1.0));
        }
    }
}
