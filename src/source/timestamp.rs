//! Timestamp units (SPEC 1.4). API CONTRACT: the enum is fixed.

/// The unit a table stores its timestamps in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}
