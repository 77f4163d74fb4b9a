//! The replay's remote control (SPEC 8): what the page asks (`POST /api/replay`), queued for
//! the replay loop, and the loop's word that it has carried a command out.
//!
//! The web server and the loop share a [`Control`]; the loop takes the commands between two
//! events and while it waits, so a command never lands in the middle of an event.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::job::Speed;
use crate::engine::Millis;
use crate::output::status::Status;

/// The slowest and the fastest multiple of real time the control accepts (besides `max`).
pub const SPEEDS: std::ops::RangeInclusive<f64> = 0.25..=1000.0;

/// What the page asks of the replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    Pause,
    Play,
    Speed(Speed),
    /// To the state of a run whose END is this instant (ms): every event below it processed.
    Seek(Millis),
    /// Process up to the end of the current bar window, then pause.
    Step,
}

impl Command {
    /// Reads a command from the body of `POST /api/replay`:
    /// `{"action": "pause" | "play" | "step"}`, `{"action": "speed", "speed": 10 | "max"}`,
    /// `{"action": "seek", "to": TS}`; `range` is the run's `[start, end]`, which a seek must
    /// stay inside.
    ///
    /// # Errors
    /// A message for the user when the body is not one of these.
    pub fn from_json(body: &serde_json::Value, range: (Millis, Millis)) -> Result<Command, String> {
        let action = body.get("action").and_then(|action| action.as_str());
        match action {
            Some("pause") => Ok(Command::Pause),
            Some("play") => Ok(Command::Play),
            Some("step") => Ok(Command::Step),
            Some("speed") => {
                let asked = body.get("speed");
                let speed = match asked {
                    Some(serde_json::Value::String(text)) => text.parse::<Speed>().ok(),
                    Some(number) => number.as_f64().map(Speed::Times),
                    None => None,
                };
                match speed {
                    Some(Speed::Max) => Ok(Command::Speed(Speed::Max)),
                    Some(Speed::Times(times)) if SPEEDS.contains(&times) => {
                        Ok(Command::Speed(Speed::Times(times)))
                    }
                    _ => Err(format!(
                        "`speed` must be \"max\" or a multiple of real time from {} to {}, not {}",
                        SPEEDS.start(),
                        SPEEDS.end(),
                        asked.map_or("nothing".into(), ToString::to_string)
                    )),
                }
            }
            Some("seek") => {
                // An integer, also when written as a float (`1736899200000.0`).
                let to = body.get("to").and_then(|to| {
                    to.as_i64().or_else(|| {
                        to.as_f64()
                            .filter(|to| to.fract() == 0.0 && to.abs() < 9e15)
                            .map(|to| to as Millis)
                    })
                });
                match to {
                    Some(to) if (range.0..=range.1).contains(&to) => Ok(Command::Seek(to)),
                    _ => Err(format!(
                        "`to` must be an instant in ms inside the range [{}, {}], not {}",
                        range.0,
                        range.1,
                        body.get("to").map_or("nothing".into(), ToString::to_string)
                    )),
                }
            }
            _ => Err(
                "`action` must be one of \"pause\", \"play\", \"speed\", \"seek\", \"step\"".into(),
            ),
        }
    }
}

/// The handle shared by the web server and the replay loop; cheap to clone.
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Rung when a command is queued, so that a waiting loop takes it at once.
    queued: Condvar,
    /// The last command carried out.
    done: watch::Sender<Carried>,
}

/// A command carried out: its number, and the status the outputs were shown right then (a
/// request's answer; a replay playing on has moved on by the time the request reads the
/// live status).
#[derive(Default)]
struct Carried {
    number: u64,
    status: Option<Status>,
}

#[derive(Default)]
struct Queue {
    commands: VecDeque<(u64, Command)>,
    /// The number of the last command queued.
    last: u64,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                queued: Condvar::new(),
                done: watch::channel(Carried::default()).0,
            }),
        }
    }
}

impl Control {
    /// Queues `command` for the loop; returns its number, for [`Control::carried_out`].
    pub fn send(&self, command: Command) -> u64 {
        let mut queue = self.lock();
        queue.last += 1;
        let number = queue.last;
        queue.commands.push_back((number, command));
        self.shared.queued.notify_all();
        number
    }

    /// Waits until command `number` has been carried out (a seek: completed), or `limit`.
    /// Returns the status shown when it (or a later command) was, `None` after `limit`.
    pub async fn carried_out(&self, number: u64, limit: Duration) -> Option<Status> {
        let mut done = self.shared.done.subscribe();
        let wait = done.wait_for(|done| done.number >= number);
        match tokio::time::timeout(limit, wait).await {
            Ok(Ok(done)) => done.status.clone(),
            _ => None,
        }
    }

    /// The next command queued, if any (for the loop).
    pub(super) fn take(&self) -> Option<(u64, Command)> {
        self.lock().commands.pop_front()
    }

    /// Waits at most `limit` for a command to be queued (for the loop).
    pub(super) fn wait(&self, limit: Duration) {
        let queue = self.lock();
        if queue.commands.is_empty() {
            let _ = self.shared.queued.wait_timeout(queue, limit);
        }
    }

    /// Tells the waiting requests that command `number` has been carried out, and the status
    /// the outputs have just been shown.
    pub(super) fn carried(&self, number: u64, status: &Status) {
        self.shared.done.send_replace(Carried {
            number,
            status: Some(status.clone()),
        });
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commands_are_read_from_json() {
        let range = (1_000, 2_000);
        for (body, expected) in [
            (json!({"action": "pause"}), Ok(Command::Pause)),
            (json!({"action": "play"}), Ok(Command::Play)),
            (json!({"action": "step"}), Ok(Command::Step)),
            (
                json!({"action": "speed", "speed": 10}),
                Ok(Command::Speed(Speed::Times(10.0))),
            ),
            (
                json!({"action": "speed", "speed": 0.25}),
                Ok(Command::Speed(Speed::Times(0.25))),
            ),
            (
                json!({"action": "speed", "speed": "max"}),
                Ok(Command::Speed(Speed::Max)),
            ),
            (
                json!({"action": "seek", "to": 1_500}),
                Ok(Command::Seek(1_500)),
            ),
            (
                json!({"action": "seek", "to": 2_000}),
                Ok(Command::Seek(2_000)),
            ),
            (
                json!({"action": "seek", "to": 1_500.0}),
                Ok(Command::Seek(1_500)),
            ),
            (
                json!({"action": "speed", "speed": "60"}),
                Ok(Command::Speed(Speed::Times(60.0))),
            ),
            (
                json!({"action": "speed", "speed": "MAX"}),
                Ok(Command::Speed(Speed::Max)),
            ),
        ] {
            assert_eq!(Command::from_json(&body, range), expected, "{body}");
        }
        for bad in [
            json!({}),
            json!({"action": "rewind"}),
            json!({"action": "speed"}),
            json!({"action": "speed", "speed": 0.1}),
            json!({"action": "speed", "speed": 1001}),
            json!({"action": "speed", "speed": "fast"}),
            json!({"action": "seek"}),
            json!({"action": "seek", "to": 999}),
            json!({"action": "seek", "to": 2_001}),
            json!({"action": "seek", "to": "noon"}),
            json!({"action": "seek", "to": 1_500.5}),
            json!({"action": "speed", "speed": "2000"}),
        ] {
            assert!(Command::from_json(&bad, range).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_command_is_carried_out_once_the_loop_says_so() {
        let control = Control::default();
        let number = control.send(Command::Pause);
        assert!(
            control
                .carried_out(number, Duration::from_millis(10))
                .await
                .is_none()
        );
        assert_eq!(control.take(), Some((number, Command::Pause)));
        assert_eq!(control.take(), None);
        let status = Status {
            message: "paused at 1000".into(),
            ..Status::default()
        };
        control.carried(number, &status);
        // The answer is the status shown when the command was carried out.
        assert_eq!(
            control.carried_out(number, Duration::from_millis(10)).await,
            Some(status)
        );
    }
}
