//! Timestamp units (SPEC 1.4): finding a table's unit and converting its values to ms.
//!
//! Only times in [2000-01-01, 2100-01-01) UTC are plausible. In each unit that window is a range
//! of raw values of its own, and the ranges do not overlap, so one plausible value tells the unit.

use std::fmt;

use crate::engine::Millis;

/// 2000-01-01T00:00:00Z in ms: the first plausible time.
pub const MIN_MS: Millis = 946_684_800_000;
/// 2100-01-01T00:00:00Z in ms: the end (excluded) of plausible times.
pub const MAX_MS: Millis = 4_102_444_800_000;

/// The unit a table stores its timestamps in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    pub const ALL: [TimeUnit; 4] = [
        TimeUnit::Seconds,
        TimeUnit::Millis,
        TimeUnit::Micros,
        TimeUnit::Nanos,
    ];

    /// Short name for messages: `s`, `ms`, `µs`, `ns`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "s",
            TimeUnit::Millis => "ms",
            TimeUnit::Micros => "µs",
            TimeUnit::Nanos => "ns",
        }
    }

    /// The plausible window in this unit's raw values, `[lo, hi)`.
    ///
    /// For integers `floor(v / k)` (or `v * k`) lies in `[MIN_MS, MAX_MS)` exactly when `v`
    /// lies in this window, so SQL can test validity on the raw column.
    pub fn raw_window(self) -> (i64, i64) {
        match self {
            TimeUnit::Seconds => (MIN_MS / 1000, MAX_MS / 1000),
            TimeUnit::Millis => (MIN_MS, MAX_MS),
            TimeUnit::Micros => (MIN_MS * 1000, MAX_MS * 1000),
            TimeUnit::Nanos => (MIN_MS * 1_000_000, MAX_MS * 1_000_000),
        }
    }

    /// The unit whose plausible window holds `raw`, if any.
    pub fn of_raw(raw: Raw) -> Option<TimeUnit> {
        TimeUnit::ALL.into_iter().find(|unit| {
            let (lo, hi) = unit.raw_window();
            match raw {
                Raw::Int(v) => (lo..hi).contains(&v),
                Raw::Real(v) => v >= lo as f64 && v < hi as f64,
            }
        })
    }

    /// `raw` in ms, floored; `None` when it is not finite or not plausible once converted.
    pub fn to_millis(self, raw: Raw) -> Option<Millis> {
        let ms = match raw {
            Raw::Int(v) => match self {
                TimeUnit::Seconds => v.checked_mul(1000)?,
                TimeUnit::Millis => v,
                TimeUnit::Micros => v.div_euclid(1000),
                TimeUnit::Nanos => v.div_euclid(1_000_000),
            },
            Raw::Real(v) => {
                let ms = match self {
                    TimeUnit::Seconds => v * 1000.0,
                    TimeUnit::Millis => v,
                    TimeUnit::Micros => v / 1000.0,
                    TimeUnit::Nanos => v / 1_000_000.0,
                }
                .floor();
                // NaN fails both tests; the range check keeps the cast exact.
                if !(ms >= MIN_MS as f64 && ms < MAX_MS as f64) {
                    return None;
                }
                ms as i64
            }
        };
        (MIN_MS..MAX_MS).contains(&ms).then_some(ms)
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A raw timestamp value as stored: INTEGER or REAL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Raw {
    Int(i64),
    Real(f64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use TimeUnit::*;

    #[test]
    fn unit_of_first_plausible_value() {
        for (raw, unit) in [
            (Raw::Int(1_723_161_255), Some(Seconds)),
            (Raw::Int(1_723_161_255_408), Some(Millis)),
            (Raw::Int(1_723_161_255_408_123), Some(Micros)),
            (Raw::Int(1_723_161_255_408_123_456), Some(Nanos)),
            (Raw::Real(1_723_161_255.408), Some(Seconds)),
            (Raw::Int(946_684_800), Some(Seconds)),
            (Raw::Int(946_684_799), None),
            (Raw::Int(4_102_444_800), None),
            (Raw::Int(0), None),
            (Raw::Int(-1_723_161_255_408), None),
            (Raw::Int(i64::MAX), None),
            (Raw::Real(f64::NAN), None),
        ] {
            assert_eq!(TimeUnit::of_raw(raw), unit, "{raw:?}");
        }
    }

    #[test]
    fn conversion_floors_and_checks_the_window() {
        for (unit, raw, ms) in [
            (Seconds, Raw::Int(1_723_161_255), Some(1_723_161_255_000)),
            (Millis, Raw::Int(1_723_161_255_408), Some(1_723_161_255_408)),
            (
                Micros,
                Raw::Int(1_723_161_255_408_999),
                Some(1_723_161_255_408),
            ),
            (
                Nanos,
                Raw::Int(1_723_161_255_408_999_999),
                Some(1_723_161_255_408),
            ),
            (Seconds, Raw::Real(1_723_161_255.5), Some(1_723_161_255_500)),
            (
                Millis,
                Raw::Real(1_723_161_255_408.9),
                Some(1_723_161_255_408),
            ),
            (
                Micros,
                Raw::Real(1_723_161_255_408_999.0),
                Some(1_723_161_255_408),
            ),
            (Millis, Raw::Int(1_723_161_255), None),
            (Seconds, Raw::Int(i64::MAX), None),
            (Millis, Raw::Int(MAX_MS), None),
            (Millis, Raw::Int(MAX_MS - 1), Some(MAX_MS - 1)),
            (Millis, Raw::Int(MIN_MS), Some(MIN_MS)),
            (Millis, Raw::Real(f64::NAN), None),
            (Millis, Raw::Real(f64::INFINITY), None),
            (Millis, Raw::Real(MIN_MS as f64 - 0.5), None),
        ] {
            assert_eq!(unit.to_millis(raw), ms, "{unit:?} {raw:?}");
        }
    }
}
