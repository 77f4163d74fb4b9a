//! How the program is asked to stop: SIGINT (Ctrl-C), SIGTERM and SIGHUP, and the exit status
//! they leave.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use anyhow::Context;

use super::print::complain;

/// How the program is asked to stop: the flag that the run and the server watch, and the
/// signal that set it (0 while none has).
#[derive(Default)]
pub(crate) struct Stop {
    pub(crate) cancel: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl Stop {
    /// The first SIGINT (Ctrl-C), SIGTERM or SIGHUP asks the run to stop and write its final
    /// state; a second one ends the program at once, with the status of that signal.
    pub(crate) fn on_signals(&self) -> &Stop {
        if let Err(error) = listen(self.cancel.clone(), self.signal.clone()) {
            tracing::warn!(
                "Ctrl-C and SIGTERM will stop the program without writing the final state: {error}"
            );
        }
        self
    }

    /// The exit status of a run that `interrupted` says was stopped (SPEC 4: 128 + the signal:
    /// 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), else `code`.
    pub(crate) fn exit_code(&self, interrupted: bool, code: u8) -> u8 {
        match self.signal.load(Ordering::SeqCst) {
            signal if interrupted && signal > 0 => 128 + signal as u8,
            _ => code,
        }
    }
}

/// Resolves once a signal has set `cancel` (see [`Stop::on_signals`]).
pub(crate) async fn until_cancelled(cancel: Arc<AtomicBool>) {
    while !cancel.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for SIGINT, SIGTERM and SIGHUP on a thread of its own; returns once they are caught.
#[cfg(unix)]
fn listen(cancel: Arc<AtomicBool>, caught: Arc<AtomicI32>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("starting the signal thread")?;
    let (ready, installed) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let opened = (|| {
                    Ok::<_, std::io::Error>((
                        signal(SignalKind::interrupt())?,
                        signal(SignalKind::terminate())?,
                        signal(SignalKind::hangup())?,
                    ))
                })();
                let (mut interrupt, mut terminate, mut hangup) = match opened {
                    Ok(streams) => {
                        let _ = ready.send(Ok(()));
                        streams
                    }
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                loop {
                    let signal = tokio::select! {
                        _ = interrupt.recv() => libc::SIGINT,
                        _ = terminate.recv() => libc::SIGTERM,
                        _ = hangup.recv() => libc::SIGHUP,
                    };
                    let _ = caught.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                    // SQLite stops in the middle of any step, such as a long sort or an
                    // endless view.
                    orderflow::source::guard::cancel_reading();
                    if cancel.swap(true, Ordering::SeqCst) {
                        std::process::exit(128 + signal);
                    }
                    complain!("\nstopping: writing the final state (Ctrl-C again to quit at once)");
                }
            });
        })
        .context("starting the signal thread")?;
    installed
        .recv()
        .context("the signal thread ended")?
        .context("listening for signals")
}

/// Only Ctrl-C where there are no Unix signals.
#[cfg(not(unix))]
fn listen(cancel: Arc<AtomicBool>, caught: Arc<AtomicI32>) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        let _ = caught.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst);
        orderflow::source::guard::cancel_reading();
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        complain!("\nstopping: writing the final state (Ctrl-C again to quit at once)");
    })?;
    Ok(())
}
