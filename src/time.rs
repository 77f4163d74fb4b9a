//! Command-line times: UTC dates and RFC 3339 instants as range bounds (SPEC 1.1).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::engine::Millis;

/// How a bound given on the command line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A date as START means its midnight.
    Start,
    /// A date as END means the midnight after it: the end date is included whole.
    End,
}

/// A range bound that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read {text:?} as a date: give a UTC date YYYY-MM-DD or an RFC 3339 time such as 2025-01-15T08:30:00Z"
)]
pub struct BadTime {
    pub text: String,
}

/// Parses `text` as a range bound, in ms since the epoch.
///
/// A date `YYYY-MM-DD` is its UTC midnight (for [`Bound::End`], the midnight after). An RFC 3339
/// time is the instant itself; without an offset it is UTC.
///
/// # Errors
/// [`BadTime`] when `text` is neither form.
/// Whether `text` is a plain UTC date `YYYY-MM-DD` (not an instant).
pub fn is_date(text: &str) -> bool {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").is_ok()
}

pub fn parse_bound(text: &str, bound: Bound) -> Result<Millis, BadTime> {
    let text = text.trim();
    let bad = || BadTime {
        text: text.to_owned(),
    };
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let date = match bound {
            Bound::Start => date,
            Bound::End => date.succ_opt().ok_or_else(bad)?,
        };
        let midnight = date.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        return Ok(Utc.from_utc_datetime(&midnight).timestamp_millis());
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Utc.from_utc_datetime(&naive).timestamp_millis());
        }
    }
    Err(bad())
}

/// Formats ms since the epoch as an RFC 3339 UTC time with milliseconds, for messages.
pub fn format_ms(ms: Millis) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{ms} ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_midnight_as_start_and_the_next_midnight_as_end() {
        assert_eq!(
            parse_bound("2024-08-08", Bound::Start),
            Ok(1_723_075_200_000)
        );
        assert_eq!(parse_bound("2024-08-08", Bound::End), Ok(1_723_161_600_000));
    }

    #[test]
    fn rfc3339_is_the_instant_itself_and_utc_without_offset() {
        assert_eq!(
            parse_bound("2024-08-08T23:55:00Z", Bound::End),
            Ok(1_723_161_300_000)
        );
        assert_eq!(
            parse_bound("2024-08-09T01:55:00+02:00", Bound::Start),
            Ok(1_723_161_300_000)
        );
        assert_eq!(
            parse_bound("2024-08-08T23:55:00", Bound::Start),
            Ok(1_723_161_300_000)
        );
        assert_eq!(
            parse_bound("2024-08-08T23:55:00.250", Bound::Start),
            Ok(1_723_161_300_250)
        );
    }

    #[test]
    fn nonsense_is_an_error_that_names_the_text() {
        for text in ["", "yesterday", "2024-13-01", "2024-02-30", "08/08/2024"] {
            let err = parse_bound(text, Bound::Start).unwrap_err();
            assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        }
    }

    #[test]
    fn format_ms_is_rfc3339_utc() {
        assert_eq!(format_ms(1_723_161_300_250), "2024-08-08T23:55:00.250Z");
    }
}
