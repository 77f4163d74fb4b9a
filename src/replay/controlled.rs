//! The loop of a replay under control (SPEC 8): before each event of the recordings, the
//! events of the tape that are due are processed, the commands carried out, and the loop
//! waits while nothing is due. See `player.rs` for the clock, the cursor and the checkpoints.

use std::io;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::control::Command;
use super::player::{Goal, Player};
use super::state::{CLOCK_EVERY, State};
use crate::engine::{Applied, Event, Millis};
use crate::output::json_files::WriteError;
use crate::output::status::Phase;

/// The longest the loop waits without looking at the clock, the commands and the outputs.
const WAIT_AT_MOST: Duration = Duration::from_millis(100);

/// Puts an event of the recordings on the tape.
fn keep(player: &mut Player, event: &Event, rows_read: u64) -> Result<(), WriteError> {
    player.rows_read = rows_read;
    player.tape.push(event).map_err(tape_error)?;
    player.frontier = Some(event.ts());
    Ok(())
}

/// The tape is a temporary file: an error writing or reading it names the folder.
pub(super) fn tape_error(source: io::Error) -> WriteError {
    WriteError {
        path: std::env::temp_dir(),
        source,
    }
}

/// What to do with the recordings' next event.
pub(super) enum Admit {
    /// The run was told to stop.
    Stop,
    /// It is due: the state shown takes it.
    Shown,
    /// It is not due yet: it is read ahead onto the tape (see [`State::read_ahead`]).
    Ahead,
}

impl State<'_> {
    /// Before the recordings' next event, at `frontier` (`None`: they have no more), is
    /// processed: processes the tape's events that are due, carries out the commands, and
    /// says what to do with that event: the state shown takes it when it is due; otherwise it
    /// is read ahead, so that a seek later finds it on the tape. With `None` the loop waits
    /// for commands and the clock until the run is told to stop, or, `until_end`, until the
    /// state shown has taken every event read ([`Admit::Shown`]).
    pub(super) fn admit(
        &mut self,
        frontier: Option<Millis>,
        until_end: bool,
    ) -> Result<Admit, WriteError> {
        let Some(player) = self.player.as_mut() else {
            return Ok(Admit::Shown);
        };
        player.frontier = frontier;
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Ok(Admit::Stop);
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
                        return Ok(Admit::Shown);
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
            if self.skip_to_first(next) {
                continue;
            }
            if frontier.is_some() {
                return Ok(Admit::Ahead);
            }
            let player = self.player();
            if until_end && player.cursor == player.tape.len() {
                return Ok(Admit::Shown);
            }
            self.wait(next)?;
        }
    }

    /// The recordings' next event, not due yet, goes onto the tape through the *loader*, a
    /// copy of the state that runs ahead of the one shown and gives the checkpoints; the state
    /// shown follows over the tape, and the loader is dropped once it has caught up.
    pub(super) fn read_ahead(
        &mut self,
        event: &Event,
        rows_read: u64,
    ) -> Result<Applied, WriteError> {
        let State {
            player,
            processor,
            emitter,
            ..
        } = self;
        let player = player.as_mut().expect("a player");
        if player.loader.is_none() {
            player.loader = Some((Box::new(processor.clone()), player.processed_max));
        }
        if player.checkpoint_due() {
            // Its closed prints go to the outputs that keep them ahead (the page's log, the
            // store) as it reads, not all at once at a seek far ahead, and the checkpoint
            // holds none of them.
            let (loader, _) = player.loader.as_mut().expect("just made");
            let prints = loader.take_prints();
            emitter.hold_prints(&prints, loader.print_tape().closed_count());
            let (loader, loaded_max) = player.loader.as_ref().expect("just made");
            let (state, max_ts) = (loader.as_ref().clone(), *loaded_max);
            player.checkpoint(state, max_ts);
        }
        keep(player, event, rows_read)?;
        let (loader, loaded_max) = player.loader.as_mut().expect("just made");
        *loaded_max = Some(loaded_max.map_or(event.ts(), |max| max.max(event.ts())));
        Ok(loader.apply(event))
    }

    /// Before the recordings' next event is processed by the state shown (the replay is at
    /// what it has read): keeps it on the tape, with a checkpoint when one is due.
    pub(super) fn record(&mut self, event: &Event, rows_read: u64) -> Result<(), WriteError> {
        let State {
            player, processor, ..
        } = self;
        let Some(player) = player.as_mut() else {
            return Ok(());
        };
        // The state shown is at what was read: any loader holds the same state.
        player.loader = None;
        if player.checkpoint_due() {
            player.checkpoint(processor.clone(), player.processed_max);
        }
        keep(player, event, rows_read)?;
        player.cursor = player.tape.len();
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

    /// Answers the requests waiting for command `number`, with the status just shown.
    fn carried(&self, number: u64) {
        if let Some(player) = &self.player {
            player.control.carried(number, &self.emitter.status);
        }
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
        if player.cursor == player.tape.len() {
            // Caught up with the loader: the same events made the same state.
            player.loader = None;
        }
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
        // Events of one millisecond are taken together: a clock stopped among them would
        // stand where a run ending there had taken none of them. It stands after them.
        let settled = player
            .processed_max
            .map_or(position, |max| position.max(max.saturating_add(1)));
        let seeking = player.goal.is_some();
        match command {
            // Paused, the clock stands still once the events before it are processed: that
            // is a step to where it stands, and the answer tells the position reached.
            Command::Pause if !seeking => return self.start_seek(settled, true, number),
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
            player.anchor_at(settled);
        }
        self.show_player()?;
        self.emit()?;
        self.carried(number);
        Ok(())
    }

    /// Starts a seek to `to`: the state of a run whose END is `to`. When the state reached so
    /// far holds an event at or after `to`, or a checkpoint is nearer, the run goes back to
    /// the checkpoint (and the outputs start over from it); then it goes forward as fast as
    /// it can, and [`State::reach_goal`] ends the seek.
    fn start_seek(&mut self, to: Millis, pause_after: bool, number: u64) -> Result<(), WriteError> {
        let State {
            player,
            processor,
            emitter,
            ..
        } = self;
        let player = player.as_mut().expect("a player");
        if let Some(replaced) = player.goal.take() {
            player.control.carried(replaced.number, &emitter.status);
        }
        let checkpoint = player.checkpoint_for(to);
        let current_holds = player.processed_max.is_none_or(|max| max < to);
        let go_back = !current_holds || checkpoint.index > player.cursor;
        if go_back {
            let restored = checkpoint.processor.clone();
            let (index, max_ts) = (checkpoint.index, checkpoint.max_ts);
            let left = std::mem::replace(processor, restored);
            if player.loader.is_none() {
                // The state shown was the state after every event read: it stays, as the
                // loader, for the events read from now on.
                player.loader = Some((Box::new(left), player.processed_max));
            }
            (player.cursor, player.processed_max) = (index, max_ts);
            if player.cursor == player.tape.len() {
                player.loader = None;
            }
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
        self.carried(goal.number);
        Ok(true)
    }

    /// A replay at a multiple of real time begins at the first event in range, not at a
    /// START long before it: returns whether the clock was moved there.
    fn skip_to_first(&mut self, next: Option<Millis>) -> bool {
        let nothing_in_range_yet = self.processor.counts().first_ts.is_none();
        let player = self.player();
        match next {
            Some(next)
                if nothing_in_range_yet
                    && player.playing
                    && player.goal.is_none()
                    && next > player.target() =>
            {
                player.anchor_at(next);
                true
            }
            _ => false,
        }
    }

    /// Waits until the next event is due, a command comes, or [`WAIT_AT_MOST`]; keeps the
    /// outputs up to date meanwhile.
    fn wait(&mut self, next: Option<Millis>) -> Result<(), WriteError> {
        let player = self.player();
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
