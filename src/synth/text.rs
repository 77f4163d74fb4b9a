//! Level text in OKX's notation, written straight into a reused byte buffer.
//!
//! Numbers are integers at a fixed decimal scale, so formatting is exact and needs no float
//! printing: `units = 41_006_8, decimals = 1` is `"41006.8"`.

use super::market::{BookSide, Level, Market};

/// How prices and sizes are written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Notation {
    /// Price units (10^-price_decimals) per tick.
    pub tick_units: u64,
    pub price_decimals: u32,
    pub size_decimals: u32,
}

/// Appends `units / 10^decimals` with exactly `decimals` digits after the point.
pub(crate) fn push_fixed(buf: &mut Vec<u8>, units: u64, decimals: u32) {
    let mut digits = [0u8; 20];
    let mut n = units;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    let decimals = decimals as usize;
    // Leading zeros so that there is at least one digit before the point.
    while len <= decimals {
        digits[len] = b'0';
        len += 1;
    }
    for i in (0..len).rev() {
        buf.push(digits[i]);
        if i == decimals && decimals > 0 {
            buf.push(b'.');
        }
    }
}

/// Appends one level `["price","size","0","orders"]`; a deleted level has size and orders 0.
fn push_level(buf: &mut Vec<u8>, n: &Notation, price: i64, level: Option<Level>) {
    buf.extend_from_slice(b"[\"");
    push_fixed(buf, price as u64 * n.tick_units, n.price_decimals);
    buf.extend_from_slice(b"\",\"");
    let (size, orders) = level.map_or((0, 0), |l| (l.size, l.orders));
    if size == 0 {
        buf.push(b'0');
    } else {
        push_fixed(buf, size, n.size_decimals);
    }
    buf.extend_from_slice(b"\",\"0\",\"");
    push_fixed(buf, u64::from(orders), 0);
    buf.extend_from_slice(b"\"]");
}

/// Writes the whole side, best first, into `buf` (cleared first). Returns the level count.
pub(crate) fn write_side(
    buf: &mut Vec<u8>,
    n: &Notation,
    market: &Market,
    side: BookSide,
) -> usize {
    buf.clear();
    buf.push(b'[');
    let mut count = 0;
    for (price, level) in market.side_best_first(side) {
        if count > 0 {
            buf.push(b',');
        }
        push_level(buf, n, price, Some(level));
        count += 1;
    }
    buf.push(b']');
    count
}

/// Writes the levels of a side changed since the last row, best first, into `buf` (cleared
/// first): their new size, or size 0 for a level that is gone. Returns the level count.
pub(crate) fn write_changes(
    buf: &mut Vec<u8>,
    n: &Notation,
    market: &Market,
    side: BookSide,
) -> usize {
    let ladder = match side {
        BookSide::Bid => &market.bids,
        BookSide::Ask => &market.asks,
    };
    buf.clear();
    buf.push(b'[');
    let mut count = 0;
    let mut push = |buf: &mut Vec<u8>, price: &i64| {
        if count > 0 {
            buf.push(b',');
        }
        push_level(buf, n, *price, ladder.levels.get(price).copied());
        count += 1;
    };
    match side {
        BookSide::Bid => ladder.touched.iter().rev().for_each(|p| push(buf, p)),
        BookSide::Ask => ladder.touched.iter().for_each(|p| push(buf, p)),
    }
    buf.push(b']');
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(units: u64, decimals: u32) -> String {
        let mut buf = Vec::new();
        push_fixed(&mut buf, units, decimals);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn fixed_decimals_are_exact_and_padded() {
        assert_eq!(fixed(410_068, 1), "41006.8");
        assert_eq!(fixed(60_038_921, 8), "0.60038921");
        assert_eq!(fixed(1, 8), "0.00000001");
        assert_eq!(fixed(0, 2), "0.00");
        assert_eq!(fixed(7, 0), "7");
        assert_eq!(fixed(0, 0), "0");
        assert_eq!(fixed(u64::MAX, 0), u64::MAX.to_string());
        assert_eq!(fixed(123_456_789, 4), "12345.6789");
    }
}
