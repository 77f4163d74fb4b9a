//! The seed's JSON schema (SPEC 3.1) in one place: the three file names, the row layouts, the
//! files' text and the API's serialization of it, and the parser `serve` reads the files with.
//!
//! A layout is written once, as a conversion between an engine value and a [`Row`] (or a
//! [`Level`] pair); the renderers and the parser go through it. The files are rendered by hand,
//! one row per line, straight into a buffered file; the API serializes the same rows with serde
//! on one line. They differ in two details that are kept as they were: a value that is not
//! finite is 0 in a file and `null` in the API, and the API's depth object lists `asks` first
//! (the order serde_json's sorted map once gave it), the files `bids` first.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use serde::ser::{Serialize, SerializeStruct, SerializeTuple, Serializer};

use crate::engine::{Bar, Depth, Level, MetricBar, Millis, Ohlc};

pub const OHLC_FILE: &str = "ohlc_data.json";
pub const METRICS_FILE: &str = "metrics_data.json";
pub const DEPTH_FILE: &str = "depth_data.json";

/// The bar files keep the newest this many bars, oldest first (the seed's bound).
pub const MAX_BARS: usize = 1000;

/// One row of a bar file: the window's start in ms, an integer, then `N` numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<const N: usize> {
    pub ts: Millis,
    pub values: [f64; N],
}

/// `[ts, open, high, low, close, volume]`
pub type BarRow = Row<5>;
/// `[ts, obi_open, obi_high, obi_low, obi_close, cvd_open, cvd_high, cvd_low, cvd_close]`
/// (the seed calls the CVD columns `tot_*`).
pub type MetricRow = Row<8>;

impl From<&Bar> for BarRow {
    fn from(bar: &Bar) -> Self {
        Row {
            ts: bar.ts,
            values: [bar.open, bar.high, bar.low, bar.close, bar.volume],
        }
    }
}

impl From<BarRow> for Bar {
    fn from(Row { ts, values }: BarRow) -> Self {
        Bar::from_ohlcv(ts, values)
    }
}

impl From<&MetricBar> for MetricRow {
    fn from(bar: &MetricBar) -> Self {
        let (obi, cvd) = (bar.obi, bar.cvd);
        Row {
            ts: bar.ts,
            values: [
                obi.open, obi.high, obi.low, obi.close, cvd.open, cvd.high, cvd.low, cvd.close,
            ],
        }
    }
}

impl From<MetricRow> for MetricBar {
    fn from(Row { ts, values }: MetricRow) -> Self {
        let [
            obi_open,
            obi_high,
            obi_low,
            obi_close,
            cvd_open,
            cvd_high,
            cvd_low,
            cvd_close,
        ] = values;
        MetricBar {
            ts,
            obi: Ohlc {
                open: obi_open,
                high: obi_high,
                low: obi_low,
                close: obi_close,
            },
            cvd: Ohlc {
                open: cvd_open,
                high: cvd_high,
                low: cvd_low,
                close: cvd_close,
            },
        }
    }
}

/// A depth level as the seed writes it: `[price, size]`.
fn level_pair(level: &Level) -> [f64; 2] {
    [level.price, level.size]
}

/// The API's form: `[ts, ...]` on one line, a value that is not finite as `null`.
impl<const N: usize> Serialize for Row<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_tuple(N + 1)?;
        row.serialize_element(&self.ts)?;
        for value in &self.values {
            row.serialize_element(value)?;
        }
        row.end()
    }
}

/// The API's form of a depth: `{"asks": [[price, size], ...], "bids": [[price, size], ...]}`.
pub struct ApiDepth<'a>(pub &'a Depth);

impl Serialize for ApiDepth<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let pairs = |levels: &[Level]| levels.iter().map(level_pair).collect::<Vec<_>>();
        let mut depth = serializer.serialize_struct("Depth", 2)?;
        depth.serialize_field("asks", &pairs(&self.0.asks))?;
        depth.serialize_field("bids", &pairs(&self.0.bids))?;
        depth.end()
    }
}

/// The text of `ohlc_data.json`: the newest [`MAX_BARS`] of `bars` as [`BarRow`]s.
pub fn render_bars<'a>(
    out: &mut impl Write,
    bars: impl IntoIterator<Item = &'a Bar>,
) -> fmt::Result {
    render_rows(out, bars, BarRow::from)
}

/// The text of `metrics_data.json`: the newest [`MAX_BARS`] of `metric_bars` as [`MetricRow`]s.
pub fn render_metrics<'a>(
    out: &mut impl Write,
    metric_bars: impl IntoIterator<Item = &'a MetricBar>,
) -> fmt::Result {
    render_rows(out, metric_bars, MetricRow::from)
}

/// The text of `depth_data.json`: `{"bids": [[price, size], ...], "asks": [[price, size], ...]}`.
pub fn render_depth(out: &mut impl Write, depth: &Depth) -> fmt::Result {
    out.write_str("{\"bids\":[")?;
    render_levels(out, &depth.bids)?;
    out.write_str("],\"asks\":[")?;
    render_levels(out, &depth.asks)?;
    out.write_str("]}")
}

/// The newest [`MAX_BARS`] items as a JSON array, one row per line.
fn render_rows<'a, T: 'a, const N: usize>(
    out: &mut impl Write,
    items: impl IntoIterator<Item = &'a T>,
    row: impl Fn(&'a T) -> Row<N>,
) -> fmt::Result {
    let items: Vec<&T> = items.into_iter().collect();
    let newest = &items[items.len().saturating_sub(MAX_BARS)..];
    out.write_char('[')?;
    for (i, item) in newest.iter().enumerate() {
        out.write_str(if i == 0 { "\n" } else { ",\n" })?;
        let Row { ts, values } = row(item);
        write!(out, "[{ts}")?;
        for value in values {
            out.write_char(',')?;
            number(out, value)?;
        }
        out.write_char(']')?;
    }
    out.write_str(if newest.is_empty() { "]" } else { "\n]" })
}

fn render_levels(out: &mut impl Write, levels: &[Level]) -> fmt::Result {
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            out.write_char(',')?;
        }
        let [price, size] = level_pair(level);
        out.write_char('[')?;
        number(out, price)?;
        out.write_char(',')?;
        number(out, size)?;
        out.write_char(']')?;
    }
    Ok(())
}

/// A finite JSON number in its shortest round-trip form. The engine only produces finite
/// values; should one ever not be, 0 keeps the file valid JSON rather than writing `NaN`.
fn number(out: &mut impl Write, value: f64) -> fmt::Result {
    let value = if value.is_finite() { value } else { 0.0 };
    let mut buffer = ryu::Buffer::new();
    out.write_str(buffer.format_finite(value))
}

/// Why a file's content was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("not valid JSON of the expected shape ({reason}); a writer may be halfway through it")]
    Json { reason: String },
    #[error("not UTF-8 text (from byte {at})")]
    Utf8 { at: usize },
    #[error("row {row}: expected {expected} numbers, found {found}")]
    RowLength {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("row {row}: the timestamp {ts} is not a whole number of ms")]
    Timestamp { row: usize, ts: f64 },
}

/// The longest piece of a parser's message that is kept: serde quotes the text it did not
/// expect, which may be most of the file.
const MAX_REASON_CHARS: usize = 160;

impl From<serde_json::Error> for ContentError {
    fn from(error: serde_json::Error) -> Self {
        let mut reason = error.to_string();
        if let Some((cut, _)) = reason.char_indices().nth(MAX_REASON_CHARS) {
            let place = format!(" at line {} column {}", error.line(), error.column());
            reason.truncate(cut);
            reason.push('…');
            reason.push_str(&place);
        }
        ContentError::Json { reason }
    }
}

/// Reads `ohlc_data.json`: rows of [`BarRow`], sorted by `ts`, the last row of a `ts` winning.
///
/// # Errors
/// When the text is not that shape (extra trailing numbers in a row are ignored).
pub fn parse_bars(text: &str) -> Result<Vec<Bar>, ContentError> {
    parse_rows::<5, Bar>(text)
}

/// Reads `metrics_data.json`: rows of [`MetricRow`], sorted and deduplicated as [`parse_bars`].
///
/// # Errors
/// When the text is not that shape (extra trailing numbers in a row are ignored).
pub fn parse_metrics(text: &str) -> Result<Vec<MetricBar>, ContentError> {
    parse_rows::<8, MetricBar>(text)
}

/// Reads `depth_data.json`, in either order of its keys.
///
/// # Errors
/// When the text is not that shape (extra trailing numbers in a level are ignored).
pub fn parse_depth(text: &str) -> Result<Depth, ContentError> {
    #[derive(serde::Deserialize)]
    struct Sides {
        bids: Vec<Vec<f64>>,
        asks: Vec<Vec<f64>>,
    }
    let sides: Sides = serde_json::from_str(text)?;
    let levels = |side: Vec<Vec<f64>>| -> Result<Vec<Level>, ContentError> {
        side.into_iter()
            .enumerate()
            .map(|(row, level)| match level[..] {
                [price, size, ..] => Ok(Level { price, size }),
                _ => Err(ContentError::RowLength {
                    row,
                    expected: 2,
                    found: level.len(),
                }),
            })
            .collect()
    };
    Ok(Depth {
        bids: levels(sides.bids)?,
        asks: levels(sides.asks)?,
    })
}

/// Rows of at least `N + 1` numbers whose first is an integer timestamp; sorted by it, the
/// last row of a timestamp wins.
fn parse_rows<const N: usize, T: From<Row<N>>>(text: &str) -> Result<Vec<T>, ContentError> {
    let rows: Vec<Vec<f64>> = serde_json::from_str(text)?;
    let mut by_ts = BTreeMap::new();
    for (row, numbers) in rows.iter().enumerate() {
        let values: Option<[f64; N]> = numbers.get(1..=N).and_then(|v| v.try_into().ok());
        let (Some(&ts), Some(values)) = (numbers.first(), values) else {
            return Err(ContentError::RowLength {
                row,
                expected: N + 1,
                found: numbers.len(),
            });
        };
        // Beyond 2^53 an f64 no longer holds every integer; no real timestamp in ms is there.
        if ts.fract() != 0.0 || ts.abs() > 9.0e15 {
            return Err(ContentError::Timestamp { row, ts });
        }
        let ts = ts as Millis;
        by_ts.insert(ts, T::from(Row { ts, values }));
    }
    Ok(by_ts.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(ts: Millis) -> Bar {
        Bar {
            ts,
            open: 1.5,
            high: 2.0,
            low: 1.0,
            close: 1.25,
            volume: 3.0,
        }
    }

    fn metric_bar(ts: Millis) -> MetricBar {
        let ohlc = |open, high, low, close| Ohlc {
            open,
            high,
            low,
            close,
        };
        MetricBar {
            ts,
            obi: ohlc(0.5, 0.75, -0.25, 0.0),
            cvd: ohlc(-1.0, 2.0, -3.0, 1.0),
        }
    }

    fn depth() -> Depth {
        let level = |price, size| Level { price, size };
        Depth {
            bids: vec![level(100.5, 1.0), level(100.0, 2.0)],
            asks: vec![level(101.0, 0.25)],
        }
    }

    fn text(render: impl FnOnce(&mut String) -> fmt::Result) -> String {
        let mut out = String::new();
        render(&mut out).unwrap();
        out
    }

    #[test]
    fn files_hold_one_row_per_line_in_the_seeds_layouts() {
        for (name, rendered, expected) in [
            (
                "bars",
                text(|out| render_bars(out, &[bar(60_000), bar(120_000)])),
                "[\n[60000,1.5,2.0,1.0,1.25,3.0],\n[120000,1.5,2.0,1.0,1.25,3.0]\n]",
            ),
            (
                "metrics",
                text(|out| render_metrics(out, &[metric_bar(0)])),
                "[\n[0,0.5,0.75,-0.25,0.0,-1.0,2.0,-3.0,1.0]\n]",
            ),
            (
                "depth",
                text(|out| render_depth(out, &depth())),
                r#"{"bids":[[100.5,1.0],[100.0,2.0]],"asks":[[101.0,0.25]]}"#,
            ),
            ("no bars", text(|out| render_bars(out, &[])), "[]"),
            (
                "no depth",
                text(|out| render_depth(out, &Depth::default())),
                r#"{"bids":[],"asks":[]}"#,
            ),
            (
                "not finite",
                text(|out| {
                    render_bars(
                        out,
                        &[Bar {
                            volume: f64::NAN,
                            ..bar(0)
                        }],
                    )
                }),
                "[\n[0,1.5,2.0,1.0,1.25,0.0]\n]",
            ),
        ] {
            assert_eq!(rendered, expected, "{name}");
        }
    }

    #[test]
    fn only_the_newest_thousand_bars_are_written_oldest_first() {
        let bars: Vec<Bar> = (0..1500).map(|i| bar(i * 60_000)).collect();
        let parsed = parse_bars(&text(|out| render_bars(out, &bars))).unwrap();
        assert_eq!(parsed.len(), MAX_BARS);
        assert_eq!(parsed[0].ts, 500 * 60_000);
        assert_eq!(parsed[999].ts, 1499 * 60_000);
    }

    #[test]
    fn the_api_form_is_one_line_with_asks_first() {
        fn json(value: impl Serialize) -> String {
            serde_json::to_string(&value).unwrap()
        }
        let nan = Bar {
            volume: f64::NAN,
            ..bar(0)
        };
        for (name, serialized, expected) in [
            (
                "bars",
                json([BarRow::from(&bar(60_000))]),
                "[[60000,1.5,2.0,1.0,1.25,3.0]]",
            ),
            (
                "metrics",
                json([MetricRow::from(&metric_bar(0))]),
                "[[0,0.5,0.75,-0.25,0.0,-1.0,2.0,-3.0,1.0]]",
            ),
            (
                "depth",
                json(ApiDepth(&depth())),
                r#"{"asks":[[101.0,0.25]],"bids":[[100.5,1.0],[100.0,2.0]]}"#,
            ),
            (
                "not finite",
                json(BarRow::from(&nan)),
                "[0,1.5,2.0,1.0,1.25,null]",
            ),
        ] {
            assert_eq!(serialized, expected, "{name}");
        }
    }

    #[test]
    fn parses_the_seed_schemas() {
        assert_eq!(
            parse_bars("[[60000, 100, 101, 99, 100.5, 2.5], [0, 1, 1, 1, 1, 1]]").unwrap(),
            vec![
                Bar {
                    ts: 0,
                    open: 1.0,
                    high: 1.0,
                    low: 1.0,
                    close: 1.0,
                    volume: 1.0
                },
                Bar {
                    ts: 60_000,
                    open: 100.0,
                    high: 101.0,
                    low: 99.0,
                    close: 100.5,
                    volume: 2.5
                },
            ]
        );
        let metrics = parse_metrics("[[0, 0.1, 0.2, -0.1, 0.0, 0, 5, -1, 4]]").unwrap();
        assert_eq!(
            metrics[0].cvd,
            Ohlc {
                open: 0.0,
                high: 5.0,
                low: -1.0,
                close: 4.0
            }
        );
        let depth =
            parse_depth(r#"{"bids": [[99.5, 2]], "asks": [[100.5, 1], [101, 3]]}"#).unwrap();
        assert_eq!(
            (depth.bids.len(), depth.asks[1]),
            (
                1,
                Level {
                    price: 101.0,
                    size: 3.0
                }
            )
        );
    }

    #[test]
    fn tolerates_extra_numbers_repeated_windows_and_either_key_order() {
        let bars = parse_bars("[[0, 1, 1, 1, 1, 1, 7], [0, 2, 2, 2, 2, 2]]").unwrap();
        assert_eq!(bars.len(), 1, "the last row of a window wins");
        assert_eq!(bars[0].open, 2.0);
        let metrics = parse_metrics("[[0, 1, 1, 1, 1, 1, 1, 1, 1, 9]]").unwrap();
        assert_eq!(metrics[0].cvd.close, 1.0);
        let depth = parse_depth(r#"{"asks": [[101, 1, 5]], "bids": []}"#).unwrap();
        assert_eq!(
            depth.asks,
            vec![Level {
                price: 101.0,
                size: 1.0
            }]
        );
    }

    #[test]
    fn rejects_what_is_not_the_seed_schema() {
        for (name, text) in [
            ("half written", "[[0, 1, 1, 1, 1, 1], [60000, 1,"),
            ("empty", ""),
            ("short row", "[[0, 1, 1, 1, 1]]"),
            ("fractional ts", "[[0.5, 1, 1, 1, 1, 1]]"),
            ("null value", "[[0, null, 1, 1, 1, 1]]"),
            ("object", r#"{"bars": []}"#),
        ] {
            assert!(parse_bars(text).is_err(), "{name}");
        }
        assert!(parse_metrics("[[0, 1, 1, 1, 1, 1, 1, 1]]").is_err());
        assert!(parse_depth(r#"{"bids": [[1]], "asks": []}"#).is_err());
    }

    #[test]
    fn a_bad_file_is_reported_with_a_short_excerpt_only() {
        let long = "x".repeat(1 << 20);
        for text in [
            format!("[[\"{long}\"]]"),
            format!("[{long}"),
            format!("[[0, 1, 1, 1, 1, 1], {{\"{long}\": 1}}]"),
        ] {
            let message = parse_bars(&text).unwrap_err().to_string();
            assert!(
                message.len() < 400,
                "{} bytes: {}",
                message.len(),
                &message[..400]
            );
        }
    }

    mod round_trip {
        use proptest::collection::{btree_set, vec};
        use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
        use proptest::prelude::*;

        use super::*;

        /// Any finite `f64`, the only values the files hold.
        fn finite() -> impl Strategy<Value = f64> {
            POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
        }

        /// Windows as a file holds them: distinct, oldest first, within what an f64 holds.
        fn windows() -> impl Strategy<Value = Vec<Millis>> {
            btree_set(-9_000_000_000_000_000..=9_000_000_000_000_000i64, 0..40)
                .prop_map(|set| set.into_iter().collect())
        }

        fn rows<const N: usize>() -> impl Strategy<Value = Vec<Row<N>>> {
            windows().prop_flat_map(|windows| {
                let count = windows.len();
                vec(prop::array::uniform(finite()), count).prop_map(move |values| {
                    windows
                        .iter()
                        .zip(values)
                        .map(|(&ts, values)| Row { ts, values })
                        .collect()
                })
            })
        }

        fn levels() -> impl Strategy<Value = Vec<Level>> {
            vec((finite(), finite()), 0..40).prop_map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(price, size)| Level { price, size })
                    .collect()
            })
        }

        proptest! {
            #[test]
            fn bars_parse_back_as_rendered(rows in rows::<5>()) {
                let bars: Vec<Bar> = rows.into_iter().map(Bar::from).collect();
                let parsed = parse_bars(&text(|out| render_bars(out, &bars))).unwrap();
                prop_assert_eq!(parsed, bars);
            }

            #[test]
            fn metrics_parse_back_as_rendered(rows in rows::<8>()) {
                let bars: Vec<MetricBar> = rows.into_iter().map(MetricBar::from).collect();
                let parsed = parse_metrics(&text(|out| render_metrics(out, &bars))).unwrap();
                prop_assert_eq!(parsed, bars);
            }

            #[test]
            fn depth_parses_back_as_rendered(bids in levels(), asks in levels()) {
                let depth = Depth { bids, asks };
                let parsed = parse_depth(&text(|out| render_depth(out, &depth))).unwrap();
                prop_assert_eq!(parsed, depth);
            }
        }
    }
}
