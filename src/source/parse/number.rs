//! Numbers stored as text (SPEC 1.2): ASCII decimal, optional sign, point and exponent.
//!
//! `f64::from_str` alone would also take `inf`, `NaN` and `infinity`, so the shape is checked
//! here first, in the same pass that computes the value. Values are correctly rounded: the common
//! case (at most 19 digits, a small power of ten) is exact in `f64` arithmetic
//! (Clinger's fast path); anything else is handed, already validated, to the standard parser.

/// Why a text is not a usable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    /// Not a decimal number: empty, a stray character, `inf`, `nan`, hex, `_`, `,`, ...
    Shape,
    /// A well-formed number too large for `f64` (such as `1e400`).
    NotFinite,
}

/// Reads `text` as a decimal number; surrounding ASCII whitespace is allowed.
///
/// # Errors
/// [`NumError::Shape`] when `text` is not a decimal number, [`NumError::NotFinite`] when its
/// value does not fit an `f64`.
pub fn parse_number(text: &[u8]) -> Result<f64, NumError> {
    let text = text.trim_ascii();
    let (end, value) = scan(text, 0);
    if end != text.len() {
        return Err(NumError::Shape);
    }
    value
}

/// An optional `+` or `-` at `i`, taken; whether it was `-`.
#[inline(always)]
fn sign(b: &[u8], i: &mut usize) -> bool {
    match b.get(*i) {
        Some(b'-') => {
            *i += 1;
            true
        }
        Some(b'+') => {
            *i += 1;
            false
        }
        _ => false,
    }
}

/// The ASCII digits at `i`, taken and appended to `mantissa` (wrapping: the caller sends
/// numbers of more than 19 digits down the slow path); how many there were.
#[inline(always)]
fn mantissa_digits(b: &[u8], i: &mut usize, mantissa: &mut u64) -> usize {
    let start = *i;
    while let Some(&c) = b.get(*i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        *i += 1;
    }
    *i - start
}

/// Scans the longest decimal number starting at `start`: `[+-]? digits? (. digits?)? ([eE][+-]? digits)?`
/// with at least one digit before the exponent.
///
/// Returns the index just after what was taken and the value. The caller decides whether what
/// follows may end a number. Never panics, whatever `start` is.
#[inline]
pub(crate) fn scan(b: &[u8], start: usize) -> (usize, Result<f64, NumError>) {
    let mut i = start;
    let negative = sign(b, &mut i);
    // Up to 19 digits fit a u64 exactly; longer numbers take the slow path, so wrapping here
    // never matters.
    let mut mantissa: u64 = 0;
    let mut digits = mantissa_digits(b, &mut i, &mut mantissa);
    let mut fraction = 0usize;
    if b.get(i) == Some(&b'.') {
        i += 1;
        fraction = mantissa_digits(b, &mut i, &mut mantissa);
        digits += fraction;
    }
    if digits == 0 {
        return (i, Err(NumError::Shape));
    }
    let truncated = digits > 19;
    let mut exp10 = -(fraction.min(1_000_000) as i64);
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let exp_negative = sign(b, &mut i);
        let exp_start = i;
        let mut exp: i64 = 0;
        while let Some(&c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            // Saturate: anything this large is 0 or infinite anyway.
            exp = (exp * 10 + i64::from(d)).min(1_000_000);
            i += 1;
        }
        if i == exp_start {
            return (i, Err(NumError::Shape));
        }
        exp10 += if exp_negative { -exp } else { exp };
    }

    let value = if truncated {
        slow(&b[start..i])
    } else if mantissa == 0 {
        Ok(0.0)
    } else if mantissa <= (1u64 << 53) && (-22..=22).contains(&exp10) {
        // Both operands are exact in f64, so one correctly rounded operation gives the
        // correctly rounded result.
        let m = mantissa as f64;
        Ok(if exp10 < 0 {
            m / POW10[(-exp10) as usize]
        } else {
            m * POW10[exp10 as usize]
        })
    } else {
        slow(&b[start..i])
    };
    let value = value.map(|v| if negative { -v } else { v });
    (i, value)
}

/// A number read by [`scan_plain`]: its digits as one integer and how many of them follow the
/// point. Kept as integers so that a caller can check the range of the value before (and
/// without waiting for) the division that makes it a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plain {
    /// The index just after the number.
    pub end: usize,
    /// All the digits, as an integer: at most 16 of them, so at most 2^53 (exact in `f64`).
    pub mantissa: u64,
    /// How many of the digits follow the point (0 to 16).
    pub fraction: usize,
}

impl Plain {
    /// The value `mantissa / 10^fraction`, exactly what [`scan`] and `str::parse` give: both
    /// operands are exact in `f64`, so one correctly rounded division gives the correctly
    /// rounded result (Clinger's fast path). A zero mantissa gives `+0.0`.
    #[inline(always)]
    pub(crate) fn value(self) -> f64 {
        self.mantissa as f64 / POW10[self.fraction]
    }
}

/// The common shape of exchange numbers, `digits` or `digits.digits` (no sign, no exponent), read
/// eight bytes at a time: `None` when the text at `start` has another shape or more than 16
/// digits (then [`scan`] decides). Where it answers, [`Plain::value`] is exactly what [`scan`]
/// gives.
///
/// The caller checks what follows the number, except that an `e` or `E` (another shape) is
/// declined here.
#[inline(always)]
pub(crate) fn scan_plain(b: &[u8], start: usize) -> Option<Plain> {
    // The usual case takes one load for the integer part and one for the fraction: at most 7
    // integer digits and 8 decimals. Anything longer goes the general way.
    let head = load8(b, start)?;
    let others = non_digits(head);
    let int_digits = first_flagged(others);
    if int_digits == 8 {
        return scan_plain_long(b, start);
    }
    let after_int = (head >> (8 * int_digits)) as u8;
    if after_int != b'.' {
        if int_digits == 0 || after_int | 0x20 == b'e' {
            return None;
        }
        return Some(Plain {
            end: start + int_digits,
            mantissa: short_digits_value(head, int_digits),
            fraction: 0,
        });
    }
    // The flags of the bytes after the point (two shifts: the point may be the last byte).
    let others_after_point = (others >> (8 * int_digits)) >> 8;
    if others_after_point != 0 {
        // The whole number is in `head` (as prices such as `96004.4` are): drop the point and
        // convert all the digits at once.
        let fraction = first_flagged(others_after_point);
        let digits = int_digits + fraction;
        let after = (head >> (8 * (digits + 1))) as u8;
        if digits == 0 || after | 0x20 == b'e' {
            return None;
        }
        let int_mask = (1u64 << (8 * int_digits)) - 1;
        let without_point = (head & int_mask) | ((head >> 8) & !int_mask);
        return Some(Plain {
            end: start + digits + 1,
            mantissa: short_digits_value(without_point, digits),
            fraction,
        });
    }
    let int_value = short_digits_value(head, int_digits);
    let fraction_start = start + int_digits + 1;
    let tail = load8(b, fraction_start)?;
    let fraction = digit_run(tail);
    let end = fraction_start + fraction;
    let after = if fraction < 8 {
        (tail >> (8 * fraction)) as u8
    } else {
        *b.get(end)?
    };
    if after.is_ascii_digit() {
        // More than 8 decimals.
        return scan_plain_long(b, start);
    }
    if int_digits + fraction == 0 || after | 0x20 == b'e' {
        return None;
    }
    let fraction_value = if fraction < 8 {
        short_digits_value(tail, fraction)
    } else {
        eight_digits_value(tail)
    };
    // At most 7 + 8 digits: below 10^15, far from overflow and within 2^53.
    Some(Plain {
        end,
        mantissa: int_value * POW10_INT[fraction] + fraction_value,
        fraction,
    })
}

/// A number read by [`scan_e8`]: its value times 10^8, as an integer, and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct E8 {
    /// The index of the closing quote.
    pub end: usize,
    /// The value times 10^8: below 10^15, so exact in `f64`.
    pub units: u64,
}

impl E8 {
    /// The value `units / 10^8`, exactly what [`scan`] and `str::parse` give for the number's
    /// text: both operands are exact in `f64` and their quotient is the number's value, so one
    /// correctly rounded division gives the correctly rounded value, whatever the number of
    /// decimals the text had (`96004.4` is 960044 / 10 and 9600440000000 / 10^8, the same
    /// real number, so the same `f64`). A zero gives `+0.0`.
    #[inline(always)]
    pub(crate) fn value(self) -> f64 {
        // Below 2^53: the signed conversion (one instruction) is exact, as the unsigned one.
        self.units as i64 as f64 / 1e8
    }
}

/// The quoted number of the usual exchange shape at `start`: 1 to 7 integer digits and
/// optionally a point and up to 8 decimals (or no integer digit and 1 to 8 decimals), then
/// `QUOTE`. `None` for anything else (a longer number, a sign, an exponent, no digit, another
/// byte before the quote, the end of `b`): then the general path reads it.
///
/// [`scan_e8`] for a size: first the two sizes OKX writes most, `0` (a deletion) and `0.`
/// with eight decimals, each checked at once.
#[inline(always)]
pub(crate) fn scan_e8_size<const QUOTE: u8>(b: &[u8], start: usize) -> Option<E8> {
    let head = load8_padded(b, start);
    if head & 0xFFFF == u64::from(u16::from_le_bytes([b'0', QUOTE])) {
        return Some(E8 {
            end: start + 1,
            units: 0,
        });
    }
    if head & 0xFFFF == u64::from(u16::from_le_bytes([b'0', b'.'])) {
        let decimals = load8_padded(b, start + 2);
        if non_digits(decimals) == 0 && b.get(start + 10) == Some(&QUOTE) {
            return Some(E8 {
                end: start + 10,
                units: eight_digits_value(decimals),
            });
        }
    }
    scan_e8::<QUOTE>(b, start)
}

/// A number that ends within eight bytes (a price such as `96004.4"`) takes one load and one
/// conversion of its digits without the point; a longer one (a size such as `0.14593057`)
/// converts the integer digits and the decimals apart.
#[inline(always)]
pub(crate) fn scan_e8<const QUOTE: u8>(b: &[u8], start: usize) -> Option<E8> {
    let head = load8_padded(b, start);
    let flags = non_digits(head);
    let int_digits = first_flagged(flags);
    if int_digits == 8 {
        return None;
    }
    let after_int = (head >> (8 * int_digits)) as u8;
    if after_int == QUOTE {
        if int_digits == 0 {
            return None;
        }
        // A size of `0` (OKX's deletion) or another single digit is the usual integer.
        let int_value = if int_digits == 1 {
            head & 0x0F
        } else {
            short_digits_value(head, int_digits)
        };
        return Some(E8 {
            end: start + int_digits,
            units: int_value * 100_000_000,
        });
    }
    if after_int != b'.' {
        return None;
    }
    // The flags of the bytes after the point: the point's flag (its byte's high bit) cleared.
    // Exact, as only digits come before the point (see `non_digits`).
    let flags_after_point = flags & flags.wrapping_sub(1);
    if flags_after_point != 0 {
        // Within `head`: the byte after the decimals, where the quote should be.
        let after_at = first_flagged(flags_after_point);
        let digits = after_at - 1;
        let after = (head >> (8 * after_at)) as u8;
        if after != QUOTE || digits == 0 {
            return None;
        }
        // The digits without the point, followed by zero bytes up to the eighth: the
        // mantissa times 10^(8 - digits), so the value times 10^8 is that times
        // 10^int_digits.
        let int_mask = (1u64 << (8 * int_digits)) - 1;
        let digits_mask = (1u64 << (8 * digits)) - 1;
        let without_point = (head & int_mask) | ((head >> 8) & digits_mask & !int_mask);
        return Some(E8 {
            end: start + digits + 1,
            units: eight_digits_value(without_point) * POW10_INT[int_digits],
        });
    }
    let fraction_start = start + int_digits + 1;
    let tail = load8_padded(b, fraction_start);
    let fraction = digit_run(tail);
    let end = fraction_start + fraction;
    // Nine or more decimals put a digit here. At least one decimal: `1.` ended in `head`.
    if *b.get(end)? != QUOTE {
        return None;
    }
    // The decimals, followed by zero bytes up to the eighth: their value times
    // 10^(8 - fraction). Two shifts, so that 8 decimals keep all eight bytes.
    let kept = !((u64::MAX << (4 * fraction)) << (4 * fraction));
    // A size has one integer digit, most often.
    let int_value = if int_digits == 1 {
        head & 0x0F
    } else {
        short_digits_value(head, int_digits)
    };
    Some(E8 {
        end,
        units: int_value * 100_000_000 + eight_digits_value(tail & kept),
    })
}

/// [`scan_plain`] for numbers with 8 or more integer digits or more than 8 decimals (at most 16
/// digits in all).
///
/// Inlined although it is rare: as a call, its `Option<Plain>` (32 bytes) comes back through
/// memory, and since every return of [`scan_plain`] meets it there, the common results went
/// through the stack too (about 17 more instructions per level).
#[inline(always)]
fn scan_plain_long(b: &[u8], start: usize) -> Option<Plain> {
    let (int_digits, int_value) = digits_swar(b, start)?;
    let mut i = start + int_digits;
    let mut mantissa = int_value;
    let mut fraction = 0;
    if b.get(i) == Some(&b'.') {
        let (frac_digits, frac_value) = digits_swar(b, i + 1)?;
        fraction = frac_digits;
        // More than 16 digits in all could overflow the mantissa: leave them to `scan`.
        if int_digits + fraction > 16 {
            return None;
        }
        mantissa = mantissa * POW10_INT[frac_digits] + frac_value;
        i += 1 + frac_digits;
    }
    if int_digits + fraction == 0 || int_digits + fraction > 16 || mantissa > (1u64 << 53) {
        return None;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        return None;
    }
    Some(Plain {
        end: i,
        mantissa,
        fraction,
    })
}

/// The run of at most 16 ASCII digits at `start` and its value; `None` when it is longer, or
/// when fewer than 8 bytes are left to load (the caller falls back to the byte loop).
#[inline(always)]
fn digits_swar(b: &[u8], start: usize) -> Option<(usize, u64)> {
    let chunk = load8(b, start)?;
    let n = digit_run(chunk);
    if n < 8 {
        return Some((n, short_digits_value(chunk, n)));
    }
    let value = eight_digits_value(chunk);
    // Exactly eight digits (the common 8-decimal size) end at a non-digit: no second load.
    if b.get(start + 8).is_some_and(|c| !c.is_ascii_digit()) {
        return Some((8, value));
    }
    let chunk = load8(b, start + 8)?;
    let m = digit_run(chunk);
    if m == 8 {
        return None;
    }
    Some((8 + m, value * POW10_INT[m] + short_digits_value(chunk, m)))
}

/// The 8 bytes at `start` as a little-endian `u64` (the first byte lowest); `None` when fewer
/// are left.
#[inline(always)]
pub(crate) fn load8(b: &[u8], start: usize) -> Option<u64> {
    // Two comparisons (`start` within `b`, then eight bytes after it); a range `start..start
    // + 8` would also need an overflow check of the addition.
    let chunk = b.get(start..)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*chunk))
}

/// The 8 bytes at `start` as [`load8`] reads them, with zero bytes for those past the end of
/// `b` (a zero byte is not a digit, a quote or any byte a number or a level is made of, so a
/// reader declines rather than read one). Near the end of a text of 8 bytes or more, one load
/// of its last 8 bytes, shifted.
#[inline(always)]
pub(crate) fn load8_padded(b: &[u8], start: usize) -> u64 {
    if let Some(chunk) = load8(b, start) {
        return chunk;
    }
    match (b.last_chunk::<8>(), b.len().checked_sub(start)) {
        // `left` is 0 to 7: the last `left` bytes are wanted, in the low bytes. Two shifts, so
        // that `left == 0` gives 0 without a shift by 64.
        (Some(last), Some(left)) => {
            let gone = 4 * (8 - left);
            (u64::from_le_bytes(*last) >> gone) >> gone
        }
        (None, Some(_)) => {
            let mut padded = [0u8; 8];
            for (to, from) in padded.iter_mut().zip(b.get(start..).unwrap_or_default()) {
                *to = *from;
            }
            u64::from_le_bytes(padded)
        }
        (_, None) => 0,
    }
}

/// How many of the 8 bytes of `chunk` (as from [`load8`]) are ASCII digits before the first
/// other byte.
#[inline(always)]
pub(crate) fn digit_run(chunk: u64) -> usize {
    first_flagged(non_digits(chunk))
}

/// The bytes of `chunk` that are not ASCII digits, each flagged by its high bit in the result
/// (SWAR: all eight tested at once).
///
/// After `^ 0x30` a digit is 0 to 9; `+ 0x76` takes any other byte below `0x80` to `0x80` or
/// more, and a byte of `0x80` or more is flagged as it is. The addition is done on the whole
/// word (fewer operations than masking each byte first), so a byte of `0x89` or more (after the
/// `^`) carries into the next one, which can then be flagged although it is a `9`. Such a byte
/// is flagged itself, so the flags are exact up to and including the first flagged byte, and
/// beyond it as long as no byte before is `0x80` or more: [`scan_plain`] and [`scan_e8`] read
/// past a flagged `.` (`0x2E`), never past another byte.
#[inline(always)]
fn non_digits(chunk: u64) -> u64 {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const TO_HIGH_BIT: u64 = 0x7676_7676_7676_7676;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let from_zero = chunk ^ ZEROS;
    (from_zero | from_zero.wrapping_add(TO_HIGH_BIT)) & HIGH_BITS
}

/// The position of the first byte flagged by [`non_digits`]; 8 when there is none.
#[inline(always)]
fn first_flagged(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// The value of the first `n` (below 8) bytes of `chunk`, which are ASCII digits.
#[inline(always)]
fn short_digits_value(chunk: u64, n: usize) -> u64 {
    // Keep the `n` digits, moved to the high bytes: the low bytes become leading zeros. Two
    // shifts, so that `n == 0` clears everything without a shift by 64.
    eight_digits_value((chunk << (8 * (7 - n))) << 8)
}

/// The value of the 8 bytes of `chunk`, which are ASCII digits (or zero bytes, read as zeros).
#[inline(always)]
fn eight_digits_value(chunk: u64) -> u64 {
    // Pairs, then fours, then all eight, each step one multiply: `10 << 8 | 1` puts
    // `10 * first + second` in the high byte of each pair (no product reaches the next pair),
    // then the same with 100 and 10,000 (the multiply-shift reduction simdjson uses).
    let t = ((chunk & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul((10 << 8) + 1)) >> 8;
    let t = ((t & 0x00FF_00FF_00FF_00FF).wrapping_mul((100 << 16) + 1)) >> 16;
    ((t & 0x0000_FFFF_0000_FFFF).wrapping_mul((10_000 << 32) + 1)) >> 32
}

const POW10_INT: [u64; 17] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
];

/// The standard parser, for the rare numbers outside the fast path. `text` has been validated
/// as a decimal number, so only its value can be a problem.
#[cold]
fn slow(text: &[u8]) -> Result<f64, NumError> {
    let text = std::str::from_utf8(text).map_err(|_| NumError::Shape)?;
    let value: f64 = text.parse().map_err(|_| NumError::Shape)?;
    if value.is_finite() {
        // The sign is applied by the caller.
        Ok(value.abs())
    } else {
        Err(NumError::NotFinite)
    }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<f64, NumError>) {
        let got = parse_number(text.as_bytes());
        match (got, expected) {
            (Ok(a), Ok(b)) => assert!(
                a == b && a.is_sign_negative() == b.is_sign_negative(),
                "{text:?}: {a} != {b}"
            ),
            (a, b) => assert_eq!(a, b, "{text:?}"),
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)]
    fn accepts_decimal_shapes() {
        for (text, value) in [
            ("0", 0.0),
            ("41006.8", 41006.8),
            ("0.60038921", 0.60038921),
            ("  1.5 ", 1.5),
            ("\t2\n", 2.0),
            ("+3", 3.0),
            ("-3.25", -3.25),
            ("1.", 1.0),
            (".5", 0.5),
            ("1e3", 1000.0),
            ("1E+3", 1000.0),
            ("25e-1", 2.5),
            ("9.0e-05", 9.0e-05),
            ("0.00000000", 0.0),
            ("61837.63000000", 61837.63),
            ("1e15", 1e15),
            ("1e-400", 0.0),
            (
                "123456789012345678901234567890",
                123456789012345678901234567890.0,
            ),
            ("0.1234567890123456789012345", 0.1234567890123456789012345),
            ("9007199254740993", 9007199254740993.0),
            ("18446744073709551616", 18446744073709551616.0),
            ("0.00000000000000000000000", 0.0),
            ("1.7976931348623157e308", f64::MAX),
        ] {
            check(text, Ok(value));
        }
    }

    #[test]
    fn rejects_other_shapes() {
        for text in [
            "", " ", "+", "-", ".", "e5", "1e", "1e+", "1_000", "1,5", "1 000", "inf", "-inf",
            "Infinity", "nan", "NaN", "0x10", "1.2.3", "--1", "1a", "٣", "１", "1.5f",
        ] {
            check(text, Err(NumError::Shape));
        }
    }

    #[test]
    fn rejects_infinite_values() {
        check("1e400", Err(NumError::NotFinite));
        check("-1e309", Err(NumError::NotFinite));
        check("1e1000000000000", Err(NumError::NotFinite));
    }

    /// `scan_plain` either declines or gives exactly what `scan` (and `str::parse`) give.
    fn check_plain(text: &str) {
        // Padding so that the eight-byte loads reach every digit.
        let padded = format!("{text}\"        ");
        let expected: f64 = text.parse().unwrap();
        let (end, value) = scan(padded.as_bytes(), 0);
        assert_eq!((end, value), (text.len(), Ok(expected)), "{text:?}");
        if let Some(plain) = scan_plain(padded.as_bytes(), 0) {
            assert_eq!(plain.end, text.len(), "{text:?}");
            assert_eq!(plain.value().to_bits(), expected.to_bits(), "{text:?}");
        }
    }

    #[test]
    fn plain_numbers() {
        for text in [
            "0",
            "1",
            "41006.8",
            "0.60038921",
            "96000.0",
            "0.00000000",
            "12345678",
            "123456789",
            "1234567812345678",
            "9007199254740992",
            // Integer and fraction of 15 digits each: the mantissa must not be formed.
            "123456789012345.123456789012345",
            "99999999.99999999",
            "9007199254740993",
            "1.",
            ".5",
            "0.1",
            "99999999.99999999",
            // Around the one-load limits: 7 and 8 integer digits, 8 and 9 decimals.
            "1234567",
            "1234567.1",
            "12345678.1",
            "0.12345678",
            "0.123456789",
            "1234567.12345678",
            "1234567.123456789",
            ".12345678",
            // Leading zeros, zeros only, and the longest accepted shapes.
            "0000000.00000001",
            "00000000000000001",
            "0000000000000000.1",
            "000.000",
            "0.0000000000000001",
            "1.234567890123456",
            "123456789012345.6",
        ] {
            check_plain(text);
        }
        // What follows the number is not taken, whatever it is.
        for (text, end) in [
            ("96004.4\",\"0.1\"]", 7),
            ("0.14593057', '0'", 10),
            ("7]]]]]]]]", 1),
            ("1.5.5.5.5.5.5", 3),
            ("12345678x9999999", 8),
            ("1.12345678-9999999", 10),
        ] {
            let plain = scan_plain(text.as_bytes(), 0).unwrap();
            let expected: f64 = text[..end].parse().unwrap();
            assert_eq!(plain.end, end, "{text:?}");
            assert_eq!(plain.value().to_bits(), expected.to_bits(), "{text:?}");
        }
        for text in ["41006.8", "0.5", "7"] {
            assert!(
                scan_plain(format!("{text}\"        ").as_bytes(), 0).is_some(),
                "{text}"
            );
        }
        // Other shapes are left to `scan`.
        for text in [
            "-1",
            "+1",
            "1e5",
            "1.5E3",
            ".",
            "",
            "12345678901234567",
            "1.2345678901234567",
            "0.12345678901234567",
            "1.5e3",
            "12345678.5E3",
            "1.123456789e3",
            "x",
            "\"",
        ] {
            assert_eq!(
                scan_plain(format!("{text}\"        ").as_bytes(), 0),
                None,
                "{text:?}"
            );
        }
        // Fewer than eight bytes left: declined, never a panic.
        assert_eq!(scan_plain(b"1.5\"", 0), None);
        assert_eq!(scan_plain(b"", 5), None);
        assert_eq!(scan_plain(b"1.5\"", usize::MAX), None);
        assert_eq!(scan_plain(b"1234.5678", 0), None);
        assert_eq!(scan_plain(b"12345678", 0), None);
        assert_eq!(scan_plain(b"0.12345678", 0), None);
        assert_eq!(scan_plain(b"1.2\"", 0), None);
    }

    proptest::proptest! {
        /// `non_digits` flags exactly the first non-digit, and after a `.` preceded by digits
        /// only, the first non-digit after it (what `scan_plain` reads); bytes next to the
        /// digits and bytes of `0x80` and more, whose `+ 0x76` carries, come often.
        #[test]
        fn non_digits_flags_what_scan_plain_reads(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![b'0'..=b'9', b'*'..=b'@', proptest::strategy::Just(b'.'), 0xB0u8..=0xBF, 0xF9u8..=0xFF, proptest::num::u8::ANY],
                8,
            ),
        ) {
            let chunk = u64::from_le_bytes(bytes.as_slice().try_into().unwrap());
            let first_non_digit = |from: usize| {
                bytes[from..].iter().position(|c| !c.is_ascii_digit()).unwrap_or(8)
            };
            let flags = non_digits(chunk);
            let point = first_non_digit(0);
            proptest::prop_assert_eq!(first_flagged(flags), point);
            if point < 8 && bytes[point] == b'.' {
                let after_point = (flags >> (8 * point)) >> 8;
                proptest::prop_assert_eq!(first_flagged(after_point), first_non_digit(point + 1));
            }
        }

        /// `scan_e8` either declines or reads what `scan` reads, to the same end and the same
        /// bits, whatever follows the number and however close the end of the text is.
        #[test]
        fn e8_agrees_with_scan(
            number in proptest::prop_oneof![
                "[0-9]{0,8}(\\.[0-9]{0,9})?",
                "0\\.[0-9]{8}",
                "0\\.?[0-9]{0,9}",
                "[+-]?[0-9]{0,3}\\.?[0-9]{0,3}([eE][+-]?[0-9]{0,2})?",
            ],
            after in proptest::prop_oneof![
                "[\"'][\"'0-9.eE,\\]\\\\ ]{0,8}",
                "[\"'0-9.eE,\\]\\\\ ]{0,9}",
            ],
            json in proptest::bool::ANY,
        ) {
            let text = format!("{number}{after}");
            let b = text.as_bytes();
            let got = if json { scan_e8::<b'"'>(b, 0) } else { scan_e8::<b'\''>(b, 0) };
            let size = if json { scan_e8_size::<b'"'>(b, 0) } else { scan_e8_size::<b'\''>(b, 0) };
            for e8 in [got, size].into_iter().flatten() {
                let quote = if json { b'"' } else { b'\'' };
                proptest::prop_assert_eq!(b.get(e8.end), Some(&quote));
                let (end, value) = scan(b, 0);
                proptest::prop_assert_eq!(end, e8.end, "{}", text);
                proptest::prop_assert_eq!(value.map(f64::to_bits), Ok(e8.value().to_bits()), "{}", text);
            }
        }

        #[test]
        fn plain_fast_path_agrees_with_std(
            int in 0u64..100_000_000_000,
            int_digits in 0usize..12,
            frac in 0u64..10_000_000_000,
            frac_digits in 0usize..18,
            point in proptest::bool::ANY,
        ) {
            let int = if int_digits == 0 { String::new() } else { format!("{:0width$}", int % 10u64.pow(int_digits as u32), width = int_digits) };
            let frac = if frac_digits == 0 { String::new() } else { format!("{:0width$}", frac % 10u64.pow(frac_digits as u32), width = frac_digits) };
            let text = if point { format!("{int}.{frac}") } else { int.clone() };
            proptest::prop_assume!(text.parse::<f64>().is_ok());
            check_plain(&text);
        }
    }

    #[test]
    fn agrees_with_std_on_many_values() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 100_000_000;
            let frac = (x >> 32) % 100_000_000;
            let text = format!("{int}.{frac:08}e{}", (x >> 60) as i64 - 8);
            let expected: f64 = text.parse().unwrap();
            check(&text, Ok(expected));
        }
    }
}
