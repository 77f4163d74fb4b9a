//! `--on-signal CMD` (SPEC 9.2): each new signal goes to CMD as one JSON line on its standard
//! input. CMD runs on a thread of its own behind a bounded queue, so that a slow or failing
//! command is reported and never holds the processing back: when the queue is full, a signal
//! is dropped and counted.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Signals waiting for the command before new ones are dropped.
pub const QUEUE: usize = 256;

/// A command that runs longer than this is reported (once per signal).
const SLOW: Duration = Duration::from_secs(5);

/// A command that runs longer than this is stopped.
const LIMIT: Duration = Duration::from_secs(60);

/// How long the end of a run waits for the queue to be handed over.
const DRAIN: Duration = Duration::from_secs(3);

/// The `--on-signal` command and the thread that runs it.
pub struct OnSignal {
    queue: Option<SyncSender<String>>,
    thread: Option<JoinHandle<()>>,
    dropped: u64,
    failed: Arc<AtomicU64>,
    /// Set when the run ends and the command is still busy: it is stopped.
    abandon: Arc<AtomicBool>,
    command: String,
}

impl OnSignal {
    /// Starts the thread that runs `command` (through `sh -c`) for each signal.
    pub fn start(command: &str) -> OnSignal {
        let (queue, lines) = sync_channel(QUEUE);
        let failed = Arc::new(AtomicU64::new(0));
        let abandon = Arc::new(AtomicBool::new(false));
        let runner = Runner {
            command: command.to_owned(),
            failed: failed.clone(),
            abandon: abandon.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("on-signal".to_owned())
            .spawn(move || runner.serve(&lines))
            .map_err(|error| tracing::warn!("--on-signal cannot start its thread: {error}"))
            .ok();
        OnSignal {
            queue: thread.as_ref().map(|_| queue),
            thread,
            dropped: 0,
            failed,
            abandon,
            command: command.to_owned(),
        }
    }

    /// Hands one signal (a JSON line without its newline) to the command, without waiting:
    /// when the queue is full it is dropped and counted.
    pub fn send(&mut self, line: String) {
        let Some(queue) = &self.queue else {
            self.dropped += 1;
            return;
        };
        match queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                if self.dropped == 0 {
                    tracing::warn!(
                        "--on-signal {:?} is too slow: signals are dropped until it catches up",
                        self.command
                    );
                }
                self.dropped += 1;
            }
        }
    }

    /// Signals dropped so far because the command was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Ends the queue and waits a while for the command to take what is in it; reports the
    /// signals that were dropped and the runs of the command that failed.
    pub fn finish(mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + DRAIN;
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if !thread.is_finished() {
                // The command in hand is stopped; what is still queued is not delivered.
                self.abandon.store(true, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(1);
                while !thread.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                tracing::warn!(
                    "--on-signal {:?} is still busy; the signals still queued are not delivered",
                    self.command
                );
            }
        }
        if self.dropped > 0 {
            tracing::warn!(
                "--on-signal {:?}: {} signals dropped because the command was behind",
                self.command,
                self.dropped
            );
        }
        let failed = self.failed.load(Ordering::Relaxed);
        if failed > 0 {
            tracing::warn!("--on-signal {:?} failed {failed} times", self.command);
        }
    }
}

struct Runner {
    command: String,
    failed: Arc<AtomicU64>,
    abandon: Arc<AtomicBool>,
}

impl Runner {
    fn serve(&self, lines: &Receiver<String>) {
        while let Ok(line) = lines.recv() {
            if self.abandon.load(Ordering::SeqCst) {
                return;
            }
            if let Err(problem) = self.deliver(&line) {
                self.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("--on-signal {:?}: {problem}", self.command);
            }
        }
    }

    /// Runs the command once with `line` on its standard input.
    fn deliver(&self, line: &str) -> Result<(), String> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::null());
        // A group of its own, so that stopping it stops what the shell started too.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot be started: {error}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that does not read its input is no failure of ours.
            let _ = stdin.write_all(line.as_bytes());
            let _ = stdin.write_all(b"\n");
        }
        wait(&mut child, &self.abandon)
    }
}

/// Stops `child` and every process of its group.
fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child`, reporting it when slow and stopping it past [`LIMIT`].
fn wait(child: &mut Child, abandon: &AtomicBool) -> Result<(), String> {
    let started = Instant::now();
    let mut reported = false;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("exited with {status}")),
            Ok(None) => {}
            Err(error) => return Err(format!("cannot be waited for: {error}")),
        }
        let elapsed = started.elapsed();
        if abandon.load(Ordering::SeqCst) {
            stop(child);
            return Err("was stopped at the end of the run".to_owned());
        }
        if elapsed > LIMIT {
            stop(child);
            return Err(format!(
                "ran longer than {} s and was stopped",
                LIMIT.as_secs()
            ));
        }
        if elapsed > SLOW && !reported {
            reported = true;
            tracing::warn!(
                "--on-signal is slow: one signal has taken more than {} s",
                SLOW.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
