//! The player of a replay under control (SPEC 8): playing or paused, at a speed, at a
//! position; the tape of the events read and the checkpoints to go back to.
//!
//! The replay is a clock and a cursor. The clock gives the *target*: the instant below which
//! every event is to be processed (frozen while paused, moving at the speed's multiple of
//! real time while playing, unbounded at `max`, the goal's instant during a seek or a step).
//! The cursor is the next event to process: on the tape while the replay is behind what it has
//! read, else the next event of the recordings. The *position* is the lesser of the target and
//! the next event's time: everything below it has been processed.
//!
//! Going back restores a checkpoint (a copy of the whole state of the run, taken every
//! `checkpoint_every` events, [`CHECKPOINT_EVERY`] by default) and goes forward from it over the tape: no product of the run
//! has seek code of its own, a new one in the state follows for free.

use std::time::Instant;

use super::control::Control;
use super::job::Speed;
use super::tape::Tape;
use crate::engine::{Millis, Processor, window_start};
use crate::output::status::{Phase, Playback};

/// Events between two checkpoints by default: a seek goes over at most this many events.
pub const CHECKPOINT_EVERY: usize = 1 << 19;

/// The whole state of the run after the first `index` events of the tape.
pub(super) struct Checkpoint {
    pub(super) index: usize,
    /// The latest time of those events (`None` for none): the checkpoint is a state of a run
    /// ending at `T` when this is below `T`.
    pub(super) max_ts: Option<Millis>,
    pub(super) processor: Processor,
}

/// A seek or a step being carried out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Goal {
    pub(super) to: Millis,
    /// Pause once there (a step).
    pub(super) pause_after: bool,
    /// The command's number, told to the control when done.
    pub(super) number: u64,
}

/// The player: the clock, the cursor on the tape, the checkpoints.
pub(super) struct Player {
    pub(super) control: Control,
    pub(super) tape: Tape,
    pub(super) checkpoints: Vec<Checkpoint>,
    /// The next event of the tape to process; the tape's length when the replay is at what it
    /// has read.
    pub(super) cursor: usize,
    /// The latest time of the events processed (warm-up and ignored ones included).
    pub(super) processed_max: Option<Millis>,
    pub(super) playing: bool,
    pub(super) speed: Speed,
    /// The target at an instant, from which it moves while playing.
    anchor: (Millis, Instant),
    pub(super) goal: Option<Goal>,
    /// The run's range `[start, end)` and bar window, ms.
    range: (Millis, Millis),
    window_ms: Millis,
    /// The phase the run ended in, once it did (`done`, `interrupted`, `failed`).
    pub(super) ended: Option<Phase>,
    /// The time of the recordings' next (or last read) event; `None` once they have no more.
    pub(super) frontier: Option<Millis>,
    /// Rows read from the recordings so far.
    pub(super) rows_read: u64,
    /// Events between two checkpoints.
    pub(super) checkpoint_every: usize,
    /// The state after every event on the tape, with the latest time among them, while the
    /// state shown is behind (see `State::read_ahead`).
    pub(super) loader: Option<(Box<Processor>, Option<Millis>)>,
}

impl Player {
    /// A player at START, playing unless `paused`, at `speed`.
    pub(super) fn new(
        control: Control,
        tape: Tape,
        processor: &Processor,
        paused: bool,
        speed: Speed,
        checkpoint_every: usize,
    ) -> Player {
        let config = processor.config();
        Player {
            control,
            tape,
            checkpoints: vec![Checkpoint {
                index: 0,
                max_ts: None,
                processor: processor.clone(),
            }],
            cursor: 0,
            processed_max: None,
            playing: !paused,
            speed,
            anchor: (config.start, Instant::now()),
            goal: None,
            range: (config.start, config.end),
            window_ms: config.window_ms,
            ended: None,
            frontier: Some(config.start),
            rows_read: 0,
            checkpoint_every: checkpoint_every.max(1),
            loader: None,
        }
    }

    /// The end of the run's range (exclusive), ms.
    pub(super) fn range_end(&self) -> Millis {
        self.range.1
    }

    /// The instant below which every event is to be processed now.
    pub(super) fn target(&self) -> Millis {
        if let Some(goal) = self.goal {
            return goal.to;
        }
        match (self.playing, self.speed) {
            (false, _) => self.anchor.0,
            (true, Speed::Max) => Millis::MAX,
            (true, Speed::Times(times)) => {
                let moved = self.anchor.1.elapsed().as_secs_f64() * 1000.0 * times;
                self.anchor.0.saturating_add(moved.min(1e15) as Millis)
            }
        }
    }

    /// The instant below which every event has been processed, `next` being the time of the
    /// next event to process (`None`: there is none), within the range.
    pub(super) fn position(&self, next: Option<Millis>) -> Millis {
        let target = self.target().min(next.unwrap_or(Millis::MAX));
        target.clamp(self.range.0, self.range.1)
    }

    /// The clock starts again from `position`, as it is now (after a change of play, pause,
    /// speed, or the end of a seek).
    pub(super) fn anchor_at(&mut self, position: Millis) {
        self.anchor = (position, Instant::now());
    }

    /// How long until the event at `next` is due while playing at a multiple of real time;
    /// `None` when no clock will make it due (paused, or nothing to wait for).
    pub(super) fn due_in(&self, next: Option<Millis>) -> Option<std::time::Duration> {
        let (Some(next), true, Speed::Times(times)) = (next, self.playing, self.speed) else {
            return None;
        };
        if self.goal.is_some() {
            return None;
        }
        let ahead = next.saturating_sub(self.target()).max(0) as f64;
        Some(std::time::Duration::from_secs_f64(
            (ahead / 1000.0 / times).min(1e6),
        ))
    }

    /// The end of the bar window that holds `position`: where a step stops.
    pub(super) fn step_end(&self, position: Millis) -> Millis {
        window_start(position, self.window_ms)
            .saturating_add(self.window_ms)
            .min(self.range.1)
    }

    /// The checkpoint to go back to for a run ending at `to`: the latest whose events all lie
    /// below `to`.
    pub(super) fn checkpoint_for(&self, to: Millis) -> &Checkpoint {
        self.checkpoints
            .iter()
            .rev()
            .find(|checkpoint| checkpoint.max_ts.is_none_or(|max| max < to))
            .unwrap_or(&self.checkpoints[0])
    }

    /// What the status shows of the player.
    pub(super) fn playback(&self, next: Option<Millis>, loaded_to: Millis) -> Playback {
        Playback {
            playing: self.playing,
            speed: match self.speed {
                Speed::Max => None,
                Speed::Times(times) => Some(times),
            },
            position: self.position(next),
            loaded_to: loaded_to.clamp(self.range.0, self.range.1),
            window_ms: self.window_ms,
        }
    }

    /// Whether a checkpoint is due before the next event goes on the tape.
    pub(super) fn checkpoint_due(&self) -> bool {
        let index = self.tape.len();
        index > 0 && index % self.checkpoint_every == 0
    }

    /// Keeps `state`, the state after every event on the tape (the latest at `max_ts`), as a
    /// checkpoint.
    pub(super) fn checkpoint(&mut self, state: Processor, max_ts: Option<Millis>) {
        self.checkpoints.push(Checkpoint {
            index: self.tape.len(),
            max_ts,
            processor: state,
        });
    }

    /// Counts an event processed.
    pub(super) fn processed(&mut self, ts: Millis) {
        self.processed_max = Some(self.processed_max.map_or(ts, |max| max.max(ts)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ProcessorConfig;

    /// A player over [60 s, 600 s) with one-minute windows, paused unless `playing`.
    fn player(playing: bool, speed: Speed) -> Player {
        let processor = Processor::new(ProcessorConfig {
            window_ms: 60_000,
            depth_levels: 5,
            obi_levels: None,
            start: 60_000,
            end: 600_000,
        });
        Player::new(
            Control::default(),
            Tape::new().unwrap(),
            &processor,
            !playing,
            speed,
            4,
        )
    }

    #[test]
    fn the_position_is_the_lesser_of_the_target_and_the_next_event_within_the_range() {
        let mut paused = player(false, Speed::Max);
        assert_eq!(paused.position(Some(200_000)), 60_000, "paused at START");
        paused.anchor_at(150_000);
        assert_eq!(paused.position(Some(120_000)), 120_000, "behind its target");
        assert_eq!(paused.position(Some(150_000)), 150_000);
        assert_eq!(paused.position(None), 150_000);
        let fast = player(true, Speed::Max);
        assert_eq!(
            fast.position(Some(300_123)),
            300_123,
            "at max: the next event"
        );
        assert_eq!(
            fast.position(None),
            600_000,
            "at max with nothing left: END"
        );
    }

    #[test]
    fn a_paused_clock_stands_still_and_a_playing_one_moves_at_its_speed() {
        let paused = player(false, Speed::Times(1000.0));
        let before = paused.target();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(paused.target(), before);
        assert_eq!(paused.due_in(Some(90_000)), None);
        let playing = player(true, Speed::Times(1000.0));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(playing.target() >= 60_000 + 20_000, "{}", playing.target());
        let due = playing.due_in(Some(10_000_000)).unwrap();
        assert!(
            due.as_secs_f64() > 9.0 && due.as_secs_f64() < 10.0,
            "{due:?}"
        );
    }

    #[test]
    fn a_step_ends_at_the_end_of_the_window_and_never_beyond_the_range() {
        let p = player(false, Speed::Max);
        assert_eq!(p.step_end(60_000), 120_000);
        assert_eq!(p.step_end(119_999), 120_000);
        assert_eq!(p.step_end(120_000), 180_000);
        assert_eq!(p.step_end(599_000), 600_000);
        assert_eq!(p.step_end(600_000), 600_000);
    }

    #[test]
    fn a_seek_goes_back_to_the_latest_checkpoint_whose_events_all_lie_before_it() {
        let mut p = player(false, Speed::Max);
        let state = p.checkpoints[0].processor.clone();
        for (index, max_ts) in [(4, Some(100_000)), (8, Some(200_000)), (12, Some(250_000))] {
            p.checkpoints.push(Checkpoint {
                index,
                max_ts,
                processor: state.clone(),
            });
        }
        assert_eq!(p.checkpoint_for(100_000).index, 0);
        assert_eq!(p.checkpoint_for(100_001).index, 4);
        assert_eq!(
            p.checkpoint_for(200_000).index,
            4,
            "an event at T is not before T"
        );
        assert_eq!(p.checkpoint_for(200_001).index, 8);
        assert_eq!(p.checkpoint_for(250_001).index, 12);
    }
}
