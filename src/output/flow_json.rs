//! The JSON of trades at price (SPEC 6.4) in one place: `footprint_data.json`'s name and text,
//! the API's rows of footprints, bar extras and prints, and the parser `serve` reads the file
//! with.
//!
//! Layouts:
//! - footprint: `[ts, [[price, buy, sell], ...]]`, rows by price ascending;
//! - bar extras: `[ts, buy_volume, sell_volume, delta, trades]`;
//! - print: `[ts, side, vwap, size, trades]`, `side` `"buy"` or `"sell"`.
//!
//! As in the seed's files, a value that is not finite is 0 in the file and `null` in the API
//! (the engine makes none).

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use serde::ser::{Serialize, SerializeTuple, Serializer};

use super::seed_json::{ContentError, MAX_BARS};
use crate::engine::{FootprintBar, FootprintRow, Millis, Print, Side};

pub const FOOTPRINT_FILE: &str = "footprint_data.json";

/// The text of `footprint_data.json`: the newest [`MAX_BARS`] of `bars`, one bar per line.
///
/// A large file (the last frame of a trade-heavy run, when nothing else is left to do) is
/// rendered in two parts at once, the later one (up to half, at most [`LATER_ROWS`] rows) on a
/// thread of its own: formatting the numbers is most of the run's last milliseconds.
pub fn render_footprints<'a>(
    out: &mut impl Write,
    bars: impl IntoIterator<Item = &'a FootprintBar>,
) -> fmt::Result {
    let bars: Vec<&FootprintBar> = bars.into_iter().collect();
    let newest = &bars[bars.len().saturating_sub(MAX_BARS)..];
    out.write_char('[')?;
    let rows: usize = newest.iter().map(|bar| bar.rows.len()).sum();
    if rows < SPLIT_ROWS {
        render_bars(out, newest, true)?;
    } else {
        // The later part is held in memory until the first is written: at most half the rows,
        // and at most LATER_ROWS of them (a frame of `run` over a busy day renders this file
        // twice a second).
        let most = (rows / 2).min(LATER_ROWS);
        let mut later_rows = 0;
        let later_len = newest
            .iter()
            .rev()
            .take_while(|bar| {
                later_rows += bar.rows.len();
                later_rows <= most
            })
            .count();
        let (first, later) = newest.split_at(newest.len() - later_len);
        let later_text = std::thread::scope(|scope| {
            let later = scope.spawn(|| {
                let mut text = String::with_capacity(later.len() * 64);
                render_bars(&mut text, later, first.is_empty()).map(|()| text)
            });
            let first = render_bars(out, first, true);
            // A panic there is a bug: pass it on.
            let later = later
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            first.and(later)
        })?;
        out.write_str(&later_text)?;
    }
    out.write_str(if newest.is_empty() { "]" } else { "\n]" })
}

/// Footprint rows above which [`render_footprints`] renders in two halves at once (a thread
/// costs some tens of microseconds; these rows take about a millisecond).
const SPLIT_ROWS: usize = 8192;

/// Rows of the later part rendered on the other thread, at most: about 1 MB of text held.
const LATER_ROWS: usize = 32_768;

/// The lines of `bars`, each after a line break (and a comma unless `first`).
fn render_bars(out: &mut impl Write, bars: &[&FootprintBar], first: bool) -> fmt::Result {
    for (i, bar) in bars.iter().enumerate() {
        out.write_str(if first && i == 0 { "\n" } else { ",\n" })?;
        write!(out, "[{},[", bar.ts)?;
        for (j, row) in bar.rows.iter().enumerate() {
            out.write_str(if j == 0 { "[" } else { ",[" })?;
            for (k, value) in [row.price, row.buy, row.sell].into_iter().enumerate() {
                if k > 0 {
                    out.write_char(',')?;
                }
                number(out, value)?;
            }
            out.write_char(']')?;
        }
        out.write_str("]]")?;
    }
    Ok(())
}

fn number(out: &mut impl Write, value: f64) -> fmt::Result {
    let value = if value.is_finite() { value } else { 0.0 };
    out.write_str(ryu::Buffer::new().format_finite(value))
}

/// The API's form of a footprint: `[ts, [[price, buy, sell], ...]]`.
pub struct ApiFootprint<'a>(pub &'a FootprintBar);

impl Serialize for ApiFootprint<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Rows<'a>(&'a [FootprintRow]);
        impl Serialize for Rows<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(|row| [row.price, row.buy, row.sell]))
            }
        }
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&self.0.ts)?;
        tuple.serialize_element(&Rows(&self.0.rows))?;
        tuple.end()
    }
}

/// The API's form of a bar's extras: `[ts, buy_volume, sell_volume, delta, trades]`.
pub struct ApiExtras<'a>(pub &'a FootprintBar);

impl Serialize for ApiExtras<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bar = self.0;
        let mut tuple = serializer.serialize_tuple(5)?;
        tuple.serialize_element(&bar.ts)?;
        tuple.serialize_element(&bar.buy_volume)?;
        tuple.serialize_element(&bar.sell_volume)?;
        tuple.serialize_element(&bar.delta())?;
        tuple.serialize_element(&bar.trades)?;
        tuple.end()
    }
}

/// The API's form of a print: `[ts, side, vwap, size, trades]`.
pub struct ApiPrint<'a>(pub &'a Print);

impl Serialize for ApiPrint<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let print = self.0;
        let mut tuple = serializer.serialize_tuple(5)?;
        tuple.serialize_element(&print.ts)?;
        tuple.serialize_element(side_name(print.side))?;
        tuple.serialize_element(&print.vwap)?;
        tuple.serialize_element(&print.size)?;
        tuple.serialize_element(&print.trades)?;
        tuple.end()
    }
}

pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// Reads `footprint_data.json`: bars sorted by `ts` (the last of a `ts` winning), each bar's
/// rows sorted by price. The file holds no trade count: `trades` is 0, and the extras are the
/// sums of the rows.
///
/// # Errors
/// When the text is not that shape.
pub fn parse_footprints(text: &str) -> Result<Vec<FootprintBar>, ContentError> {
    let bars: Vec<(f64, Vec<Vec<f64>>)> = serde_json::from_str(text)?;
    let mut by_ts = BTreeMap::new();
    for (row, (ts, price_rows)) in bars.into_iter().enumerate() {
        if ts.fract() != 0.0 || ts.abs() > 9.0e15 {
            return Err(ContentError::Timestamp { row, ts });
        }
        let ts = ts as Millis;
        let mut bar = FootprintBar::new(ts);
        for numbers in price_rows {
            let [price, buy, sell] = numbers[..] else {
                return Err(ContentError::RowLength {
                    row,
                    expected: 3,
                    found: numbers.len(),
                });
            };
            bar.buy_volume += buy;
            bar.sell_volume += sell;
            triomphe::Arc::make_mut(&mut bar.rows).push(FootprintRow { price, buy, sell });
        }
        triomphe::Arc::make_mut(&mut bar.rows).sort_by(|a, b| a.price.total_cmp(&b.price));
        by_ts.insert(ts, bar);
    }
    Ok(by_ts.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: Millis) -> FootprintBar {
        let mut bar = FootprintBar::new(ts);
        bar.add(100.5, 2.0, Side::Buy);
        bar.add(100.0, 0.25, Side::Sell);
        bar.add(100.5, 1.0, Side::Sell);
        bar
    }

    #[test]
    fn a_large_file_rendered_in_two_halves_is_the_file_rendered_in_one() {
        for (bars, rows) in [
            (1, SPLIT_ROWS),
            (2, SPLIT_ROWS),
            (7, SPLIT_ROWS / 3),
            (1200, 9),
        ] {
            let bars: Vec<FootprintBar> = (0..bars)
                .map(|i| {
                    let mut bar = FootprintBar::new(60_000 * i);
                    for r in 0..rows {
                        bar.add(100.0 + 0.1 * r as f64, 0.3 * (i + 1) as f64, Side::Buy);
                    }
                    bar
                })
                .collect();
            let mut split = String::new();
            render_footprints(&mut split, &bars).unwrap();
            let newest: Vec<&FootprintBar> = bars.iter().rev().take(MAX_BARS).rev().collect();
            let mut whole = String::from("[");
            render_bars(&mut whole, &newest, true).unwrap();
            whole.push_str("\n]");
            assert_eq!(split, whole, "{} bars of {rows} rows", bars.len());
            assert_eq!(parse_footprints(&split).unwrap().len(), newest.len());
        }
    }

    #[test]
    fn the_file_holds_the_newest_bars_one_per_line_and_reads_back() {
        let mut text = String::new();
        render_footprints(&mut text, &[]).unwrap();
        assert_eq!(text, "[]");
        text.clear();
        let bars: Vec<FootprintBar> = (0..1001).map(|i| bar(i * 60_000)).collect();
        render_footprints(&mut text, &bars).unwrap();
        assert_eq!(text.lines().count(), 1002);
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "[60000,[[100.0,0.0,0.25],[100.5,2.0,1.0]]],"
        );
        let back = parse_footprints(&text).unwrap();
        assert_eq!(back.len(), MAX_BARS);
        assert_eq!(back[0].rows, bars[1].rows);
        assert_eq!((back[0].buy_volume, back[0].sell_volume), (2.0, 1.25));
    }

    #[test]
    fn the_api_rows_have_their_layouts() {
        let bar = bar(60_000);
        let json = |value: &dyn erased::Json| value.text();
        assert_eq!(
            json(&ApiFootprint(&bar)),
            "[60000,[[100.0,0.0,0.25],[100.5,2.0,1.0]]]"
        );
        assert_eq!(json(&ApiExtras(&bar)), "[60000,2.0,1.25,0.75,3]");
        let print = Print {
            ts: 5,
            side: Side::Sell,
            vwap: 10.5,
            size: 3.0,
            trades: 2,
        };
        assert_eq!(json(&ApiPrint(&print)), "[5,\"sell\",10.5,3.0,2]");
    }

    mod erased {
        pub trait Json {
            fn text(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn text(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }

    #[test]
    fn a_bad_file_is_an_error() {
        for text in ["[[1.5,[]]]", "[[0,[[1,2]]]]", "{}"] {
            assert!(parse_footprints(text).is_err(), "{text}");
        }
    }
}
