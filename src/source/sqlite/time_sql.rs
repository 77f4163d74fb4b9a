//! Timestamp tests and conversions written in SQL, for queries that filter or sort on a
//! timestamp column in SQLite itself (SPEC 1.4).

use crate::source::parse::timestamp::TimeUnit;

/// A SQL expression that orders rows by their converted, floored timestamp, for a column
/// expression `col` (already quoted) in `unit`. Values that are not numbers give NULL.
pub fn millis_key(unit: TimeUnit, col: &str) -> String {
    let (int, real) = match unit {
        TimeUnit::Seconds => (format!("{col} * 1000"), format!("{col} * 1000.0")),
        TimeUnit::Millis => (col.to_owned(), col.to_owned()),
        TimeUnit::Micros => (format!("{col} / 1000"), format!("{col} / 1000.0")),
        TimeUnit::Nanos => (format!("{col} / 1000000"), format!("{col} / 1000000.0")),
    };
    // Integer division truncates toward zero, which is floor for the positive values that
    // can be valid; CAST does the same for reals.
    format!(
        "CASE typeof({col}) WHEN 'integer' THEN {int} \
         WHEN 'real' THEN CAST({real} AS INTEGER) END"
    )
}

/// A SQL condition true when `col` holds a valid timestamp in `unit`.
pub fn valid(unit: TimeUnit, col: &str) -> String {
    let (lo, hi) = unit.raw_window();
    format!("(typeof({col}) IN ('integer', 'real') AND {col} >= {lo} AND {col} < {hi})")
}

/// A SQL condition true when `col` holds a plausible timestamp in any unit.
pub fn plausible(col: &str) -> String {
    let any: Vec<String> = TimeUnit::ALL
        .iter()
        .map(|unit| {
            let (lo, hi) = unit.raw_window();
            format!("({col} >= {lo} AND {col} < {hi})")
        })
        .collect();
    format!(
        "(typeof({col}) IN ('integer', 'real') AND ({}))",
        any.join(" OR ")
    )
}
