//! The signals the page shows (SPEC 9.2): every signal of the run so far, numbered so that a
//! page asks only for the new ones.

use std::sync::{Arc, Mutex};

use crate::engine::Signal;

/// Shared list of the run's signals, in the order they were found; cheap to clone.
#[derive(Clone, Default)]
pub struct SignalBoard {
    inner: Arc<Mutex<Vec<Signal>>>,
}

impl SignalBoard {
    /// Adds signals (a new closed bar's).
    pub fn add(&self, signals: &[Signal]) {
        self.lock().extend_from_slice(signals);
    }

    /// Replaces the whole list (the run started over, or a store was read again).
    pub fn replace(&self, signals: Vec<Signal>) {
        *self.lock() = signals;
    }

    /// Keeps the signals of the bars before `ts` (the run went back to a state there).
    pub fn keep_before(&self, ts: crate::engine::Millis) {
        self.lock().retain(|signal| signal.ts < ts);
    }

    /// The signals from number `from` on, and the number of signals in all.
    pub fn since(&self, from: usize) -> (Vec<Signal>, usize) {
        let list = self.lock();
        (list.get(from..).unwrap_or_default().to_vec(), list.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Signal>> {
        // A panic elsewhere while holding the list leaves it whole: a Vec push cannot tear.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
