//! What a replay is asked to do: the recordings to read, how to aggregate, where the results
//! go, and how fast.

use std::path::PathBuf;
use std::time::Duration;

use crate::engine::{ProcessorConfig, TradeBarSize};

/// How fast events are replayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the machine can.
    Max,
    /// This many times real time, measured on the events' timestamps.
    Times(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(text: &str) -> Result<Speed, String> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let times = text.trim_end_matches(['x', 'X']);
        match times.parse::<f64>() {
            Ok(times) if times.is_finite() && times > 0.0 => Ok(Speed::Times(times)),
            _ => Err(format!(
                "speed {text:?} is neither `max` nor a positive multiple of real time such as 60"
            )),
        }
    }
}

/// One processing job: what to read, how to aggregate, where the results go.
#[derive(Debug, Clone)]
pub struct Job {
    pub instrument: String,
    pub data_dir: PathBuf,
    pub config: ProcessorConfig,
    /// Least time between two writes of the outputs.
    pub emit_every: Duration,
    pub speed: Speed,
    pub json_dir: Option<PathBuf>,
    /// Show a progress bar on the terminal (it stays quiet when stderr is not one).
    pub progress: bool,
    /// Threads (`--jobs`): 1 reads and processes on one thread; more read each file on
    /// threads that parse ahead of the engine (one per table) and, on a range of several files at
    /// full speed, read and run the book stage of up to `jobs - 1` later files in parallel
    /// (see `replay/parallel.rs`). The result is the same either way.
    pub jobs: usize,
    /// `run --follow` (SPEC 10.1): after the recorded data, keep reading what the recorder
    /// commits, and the instrument's next files, until the range's end or Ctrl-C.
    pub follow: bool,
    /// Slice length of the heatmap (`--heatmap-ms`, SPEC 7), kept for the live page; `None`:
    /// no heatmap. A run with one reads its files one after another (the book must be seen
    /// at every slice end), each still read ahead on threads with `--jobs` above 1.
    pub heatmap_ms: Option<i64>,
    /// Tick or volume bars for the live page (`--tick-bars`, `--volume-bars`); `None`: none.
    pub trade_bars: Option<TradeBarSize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_max_or_a_positive_multiple() {
        assert_eq!("max".parse(), Ok(Speed::Max));
        assert_eq!("MAX".parse(), Ok(Speed::Max));
        assert_eq!("60".parse(), Ok(Speed::Times(60.0)));
        assert_eq!("2.5x".parse(), Ok(Speed::Times(2.5)));
        for bad in ["0", "-1", "fast", "inf", "NaN", ""] {
            assert!(bad.parse::<Speed>().is_err(), "{bad}");
        }
    }
}
