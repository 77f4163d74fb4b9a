//! The loop of a replay under control (SPEC 8): before each event of the recordings, the
//! events of the tape that are due are processed, the commands carried out, and the loop
//! waits while nothing is due. See `player.rs` for the clock, the cursor and the checkpoints.

use std::io;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::control::Command;
use super::player::{Checkpoint, Goal, Player};
use super::state::{CLOCK_EVERY, State};
use crate::engine::{Event, Millis};
use crate::output::json_files::WriteError;
use crate::output::status::Phase;

/// The longest the loop waits without looking at the clock, the commands and the outputs.
const WAIT_AT_MOST: Duration = Duration::from_millis(100);

/// The tape is a temporary file: an error writing or reading it names the folder.
pub(super) fn tape_error(source: io::Error) -> WriteError {
    WriteError {
        path: std::env::temp_dir(),
        source,
    }
}

impl State<'_> {
    /// Before the recordings' next event, at `frontier` (`None`: they have no more), is
    /// processed: processes the tape's events that are due, carries out the commands, and
    /// waits while nothing is due. Continues when the event at `frontier` is due; breaks when
    /// the run is told to stop (with `None`, only then).
    pub(super) fn admit(
        &mut self,
        frontier: Option<Millis>,
    ) -> Result<ControlFlow<()>, WriteError> {
        let Some(player) = self.player.as_mut() else {
            return Ok(ControlFlow::Continue(()));
        };
        player.frontier = frontier;
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Ok(ControlFlow::Break(()));
            }
            while let Some((number, command)) = self.player().control.take() {
                self.command(number, command)?;
            }
            let target = self.player().target();
            let next = self.next_ts()?;
            match next {
                Some(ts) if ts < target => {
                    let player = self.player();
                    if player.cursor == player.tape.len() {
                        return Ok(ControlFlow::Continue(()));
                    }
                    self.replay_one()?;
                    continue;
                }
                _ => {}
            }
            // Nothing is due.
            if self.reach_goal(next)? {
                continue;
            }
            self.wait(next)?;
        }
    }

    /// Before the recordings' next event is processed (the replay is at what it has read):
    /// keeps it on the tape, and a checkpoint every so many events (`Player::checkpoint_every`).
    pub(super) fn record(&mut self, event: &Event, rows_read: u64) -> Result<(), WriteError> {
        let State {
            player, processor, ..
        } = self;
        let Some(player) = player.as_mut() else {
            return Ok(());
        };
        player.rows_read = rows_read;
        let index = player.tape.len();
        if index > 0 && index % player.checkpoint_every == 0 {
            player.checkpoints.push(Checkpoint {
                index,
                max_ts: player.processed_max,
                processor: processor.clone(),
            });
        }
        player.tape.push(event).map_err(tape_error)?;
        player.cursor = player.tape.len();
        player.frontier = Some(event.ts());
        player.processed(event.ts());
        Ok(())
    }

    /// Puts where the player stands into the status (position, phase).
    pub(super) fn show_player(&mut self) -> Result<(), WriteError> {
        let next = self.next_ts()?;
        let State {
            player, emitter, ..
        } = self;
        let Some(player) = player.as_ref() else {
            return Ok(());
        };
        let end = player.range_end();
        let at_end = player.cursor == player.tape.len() && player.frontier.is_none();
        let status = &mut emitter.status;
        status.playback = Some(player.playback(next, player.frontier.unwrap_or(end)));
        status.phase = match (player.goal, player.ended) {
            (Some(_), _) => Phase::Seeking,
            (None, Some(ended)) if at_end || ended != Phase::Done => ended,
            _ => Phase::Processing,
        };
        Ok(())
    }

    /// Shows the outputs the state now.
    fn emit(&mut self) -> Result<(), WriteError> {
        let rows = self.player.as_ref().map_or(0, |player| player.rows_read);
        self.emitter
            .emit(&mut self.processor, rows, self.rows_estimate)
    }

    /// Shows the outputs the state if they are due.
    fn emit_if_due(&mut self) -> Result<(), WriteError> {
        let rows = self.player.as_ref().map_or(0, |player| player.rows_read);
        self.emitter
            .emit_if_due(&mut self.processor, rows, self.rows_estimate)
    }

    fn player(&mut self) -> &mut Player {
        self.player
            .as_mut()
            .expect("the loop of a replay under control has a player")
    }

    /// The time of the next event to process: on the tape, else the recordings'.
    fn next_ts(&mut self) -> Result<Option<Millis>, WriteError> {
        let Some(player) = self.player.as_mut() else {
            return Ok(None);
        };
        if player.cursor < player.tape.len() {
            let event = player.tape.get(player.cursor).map_err(tape_error)?;
            return Ok(Some(event.ts()));
        }
        Ok(player.frontier)
    }

    /// Processes the event of the tape under the cursor.
    fn replay_one(&mut self) -> Result<(), WriteError> {
        let State {
            player, processor, ..
        } = self;
        let player = player.as_mut().expect("a player");
        let event = player.tape.get(player.cursor).map_err(tape_error)?;
        let ts = event.ts();
        processor.apply(event);
        player.cursor += 1;
        player.processed(ts);
        self.events += 1;
        if self.events % CLOCK_EVERY == 0 {
            self.show_player()?;
            self.emit_if_due()?;
        }
        Ok(())
    }

    /// Carries out a command of the page.
    fn command(&mut self, number: u64, command: Command) -> Result<(), WriteError> {
        let next = self.next_ts()?;
        let player = self.player();
        let position = player.position(next);
        let seeking = player.goal.is_some();
        match command {
            Command::Pause => player.playing = false,
            Command::Play => player.playing = true,
            Command::Speed(speed) => player.speed = speed,
            Command::Seek(to) => return self.start_seek(to, false, number),
            Command::Step => {
                let to = player.step_end(position);
                return self.start_seek(to, true, number);
            }
        }
        if !seeking {
            player.anchor_at(position);
        }
        self.show_player()?;
        self.emit()?;
        self.player().control.carried(number);
        Ok(())
    }

    /// Starts a seek to `to`: the state of a run whose END is `to`. When the state reached so
    /// far holds an event at or after `to`, or a checkpoint is nearer, the run goes back to
    /// the checkpoint (and the outputs start over from it); then it goes forward as fast as
    /// it can, and [`State::reach_goal`] ends the seek.
    fn start_seek(&mut self, to: Millis, pause_after: bool, number: u64) -> Result<(), WriteError> {
        let State {
            player, processor, ..
        } = self;
        let player = player.as_mut().expect("a player");
        if let Some(replaced) = player.goal.take() {
            player.control.carried(replaced.number);
        }
        let checkpoint = player.checkpoint_for(to);
        let current_holds = player.processed_max.is_none_or(|max| max < to);
        let go_back = !current_holds || checkpoint.index > player.cursor;
        if go_back {
            *processor = checkpoint.processor.clone();
            (player.cursor, player.processed_max) = (checkpoint.index, checkpoint.max_ts);
        }
        player.goal = Some(Goal {
            to,
            pause_after,
            number,
        });
        self.show_player()?;
        if go_back {
            self.emitter.start_over(&mut self.processor)
        } else {
            self.emit()
        }
    }

    /// With nothing due: ends the seek or step under way, if any (the outputs are shown the
    /// state reached, and the request is answered). Returns whether there was one.
    fn reach_goal(&mut self, next: Option<Millis>) -> Result<bool, WriteError> {
        let player = self.player();
        let Some(goal) = player.goal else {
            return Ok(false);
        };
        let position = player.position(next);
        player.goal = None;
        player.anchor_at(position);
        if goal.pause_after {
            player.playing = false;
        }
        self.show_player()?;
        self.emit()?;
        self.player().control.carried(goal.number);
        Ok(true)
    }

    /// Waits until the next event is due, a command comes, or [`WAIT_AT_MOST`]; keeps the
    /// outputs up to date meanwhile.
    fn wait(&mut self, next: Option<Millis>) -> Result<(), WriteError> {
        let nothing_in_range_yet = self.processor.counts().first_ts.is_none();
        let player = self.player();
        // A replay at a multiple of real time begins at the first event in range, not at a
        // START long before it.
        if let (Some(next), true, true) = (next, player.playing, nothing_in_range_yet) {
            if next > player.target() && player.goal.is_none() {
                player.anchor_at(next);
                return Ok(());
            }
        }
        let limit = player
            .due_in(next)
            .map_or(WAIT_AT_MOST, |due| due.min(WAIT_AT_MOST));
        self.show_player()?;
        self.emit_if_due()?;
        if !limit.is_zero() {
            self.player().control.wait(limit);
        }
        Ok(())
    }
}
