//! A closed standard output or error never makes orderflow panic or lose an output (SPEC 4):
//! `orderflow run … | head -1` keeps serving, and a closed stderr changes nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{DAY, GOOD, good_recording};

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE,
/// as after `| head -1` has read its line.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors, which are ours from then on.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are open descriptors that nothing else owns.
    drop(unsafe { OwnedFd::from_raw_fd(fds[0]) });
    Stdio::from(unsafe { OwnedFd::from_raw_fd(fds[1]) })
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The outputs of a whole run over [`good_recording`].
fn assert_outputs(out: &Path) {
    assert_eq!(
        read_json(&out.join("ohlc_data.json")),
        json!([[DAY, 100.5, 100.5, 100.0, 100.0, 3.0]])
    );
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["trades"], 2, "{summary}");
}

fn args<'a>(command: &'a str, data: &'a Path, out: &'a Path, summary: &'a Path) -> Vec<&'a str> {
    super::day_run(
        command,
        "2025-01-15",
        data,
        out,
        &["--summary", summary.to_str().unwrap()],
    )
}

/// A closed stdout panicked at the summary, a closed stderr at the first log line (exit 101).
#[test]
fn process_with_a_closed_stdout_or_stderr_writes_every_output() {
    for (case, close_stdout, close_stderr) in [
        ("stdout closed", true, false),
        ("stderr closed", false, true),
        ("both closed", true, true),
    ] {
        let data = tempfile::tempdir().unwrap();
        good_recording(data.path(), GOOD, "");
        let out = tempfile::tempdir().unwrap();
        let summary = out.path().join("summary.json");
        let output = Command::new(env!("CARGO_BIN_EXE_orderflow"))
            .args(args("process", data.path(), out.path(), &summary))
            .stdout(if close_stdout {
                closed_pipe()
            } else {
                Stdio::piped()
            })
            .stderr(if close_stderr {
                closed_pipe()
            } else {
                Stdio::piped()
            })
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{case}: {stderr}");
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        assert_outputs(out.path());
    }
}

/// Kills the child when a test fails halfway.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// The README's way for scripts to read the address, `orderflow run … | head -1`, killed the
/// server when processing ended (exit 101): printing the summary to the closed pipe panicked.
#[test]
fn run_piped_into_head_keeps_serving_after_processing_ends() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.json");
    let mut run_args = args("run", data.path(), out.path(), &summary);
    run_args.extend(["--port", "0"]);
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_orderflow"))
            .args(&run_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    // `head -1`: one line, then the pipe is closed.
    let mut first = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches('/')
        .to_owned();

    let deadline = Instant::now() + Duration::from_secs(60);
    while !summary.exists() {
        assert!(child.0.try_wait().unwrap().is_none(), "the run ended");
        assert!(Instant::now() < deadline, "no summary within a minute");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Processing has ended; the page stays up.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the server keeps running after processing ends"
    );
    let status = http_get(&address, "/api/status");
    assert_eq!(status.split_whitespace().nth(1), Some("200"), "{status}");
    assert_outputs(out.path());

    // SAFETY: kill(2) with the pid of our own child.
    assert_eq!(
        unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "no exit after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = log.join().unwrap();
    // Processing was complete: Ctrl-C only stopped the server, so the status is the run's.
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(read_json(&summary)["interrupted"], false);
}
