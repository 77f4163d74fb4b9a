//! Holding events back so that they are replayed at a multiple of real time (`--speed`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::Millis;

use super::job::Speed;

/// Holds events back so that they are replayed at a multiple of real time.
pub(super) struct Pacer {
    speed: Speed,
    /// The first paced event's timestamp and the instant it was replayed.
    anchor: Option<(Millis, Instant)>,
}

impl Pacer {
    pub(super) fn new(speed: Speed) -> Self {
        Pacer {
            speed,
            anchor: None,
        }
    }

    /// Sleeps until the event at `ts` is due, calling `tick` at least every 100 ms meanwhile
    /// so the outputs keep moving. Returns whether the loop is paced (not at full speed).
    #[inline]
    pub(super) fn wait<E>(
        &mut self,
        ts: Millis,
        cancel: &AtomicBool,
        tick: &mut dyn FnMut() -> Result<(), E>,
    ) -> Result<bool, E> {
        let Speed::Times(times) = self.speed else {
            return Ok(false);
        };
        let (first_ts, first_instant) = *self.anchor.get_or_insert((ts, Instant::now()));
        let offset =
            Duration::from_secs_f64(((ts - first_ts).max(0) as f64 / 1000.0 / times).min(1e9));
        let due = first_instant + offset;
        while !cancel.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(100)));
            tick()?;
        }
        Ok(true)
    }
}
