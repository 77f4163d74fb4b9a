//! Outputs are never partial (SPEC 3.1, 4): a reader polling the JSON files always parses them,
//! Ctrl-C, SIGTERM and SIGHUP write the final state before the exit (130, 143, 129), and a full
//! disk or an unwritable folder is a clear error with a non-zero exit, never a truncated file.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::child::Child;
use super::{BIG_TRADES, GOOD, big_recording, good_recording};
use crate::common::orderflow;

const FILES: [&str; 4] = [
    "ohlc_data.json",
    "metrics_data.json",
    "depth_data.json",
    "footprint_data.json",
];

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{}: {error}\n{text}", path.display()))
}

/// The JSON files hold the run's final state: as many bars as the summary counts, the last one
/// the window of the last event, and a depth.
fn assert_final_state(json_dir: &Path, summary: &Value, text: &str) {
    let ohlc = read_json(&json_dir.join("ohlc_data.json"));
    let metrics = read_json(&json_dir.join("metrics_data.json"));
    let depth = read_json(&json_dir.join("depth_data.json"));
    let bars = ohlc.as_array().unwrap();
    assert!(!bars.is_empty(), "the final state has bars:\n{text}");
    assert_eq!(json!(bars.len()), summary["bars"], "{text}");
    assert_eq!(
        json!(metrics.as_array().unwrap().len()),
        summary["metric_bars"]
    );
    let last_ts = summary["last_ts"].as_i64().unwrap();
    // The last event is a trade (its bar) or a book row (its metric bar; a window that has
    // seen no trade yet has no bar).
    let last_window = |rows: &Value| {
        rows.as_array().unwrap().last().unwrap()[0]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        last_window(&ohlc).max(last_window(&metrics)),
        last_ts - last_ts.rem_euclid(60_000),
        "the last bar or metric bar is the window of the last event"
    );
    assert!(!depth["bids"].as_array().unwrap().is_empty());
    let footprint = read_json(&json_dir.join("footprint_data.json"));
    let windows = |rows: &Value| -> Vec<Value> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|row| row[0].clone())
            .collect()
    };
    assert_eq!(windows(&footprint), windows(&ohlc), "a footprint per bar");
}

fn no_leftovers(dir: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().all(|name| !name.ends_with(".tmp")),
        "no temporary file is left behind: {names:?}"
    );
}

#[test]
fn a_reader_polling_during_a_run_never_sees_a_partial_file() {
    let data = big_recording();
    let out = tempfile::tempdir().unwrap();
    let json_dir = out.path().to_owned();
    let mut child = Child::spawn(&super::day_run(
        "process",
        "2025-01-16",
        &data,
        &json_dir,
        &["--emit-ms", "10"],
    ));
    let running = AtomicBool::new(true);
    let (reads, versions) = std::thread::scope(|scope| {
        let poller = scope.spawn(|| {
            let (mut reads, mut versions, mut last) = (0u64, 0u64, String::new());
            // The run creates the three files one after the other; once all three have been
            // seen, none may ever be missing again.
            let mut all_seen = false;
            while running.load(Ordering::Relaxed) {
                let mut found = 0;
                for name in FILES {
                    let Ok(text) = std::fs::read_to_string(json_dir.join(name)) else {
                        assert!(!all_seen, "{name} disappeared during the run");
                        continue;
                    };
                    found += 1;
                    if let Err(error) = serde_json::from_str::<Value>(&text) {
                        panic!("{name} was partial ({error}) after {reads} reads:\n{text}");
                    }
                    reads += 1;
                    if name == FILES[0] && text != last {
                        versions += 1;
                        last = text;
                    }
                }
                all_seen |= found == FILES.len();
            }
            (reads, versions)
        });
        let status = child.wait(Duration::from_secs(120));
        running.store(false, Ordering::Relaxed);
        assert!(status.success(), "{}", child.text());
        poller.join().unwrap()
    });
    assert!(
        reads > 100 && versions > 2,
        "the poller saw the files change: {reads} reads, {versions} versions"
    );
    no_leftovers(&json_dir);
}

/// Processes the big recording with no periodic write at all, so whatever the files hold at
/// the end was written by the final write; stops it with `signal` and expects the exit status
/// `code` and a summary that says it was interrupted.
fn interrupted(
    command: &str,
    extra: &[&str],
    ready: &str,
    after: Duration,
    signal: libc::c_int,
    code: i32,
) {
    let data = big_recording();
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.json");
    let mut args = vec![
        command,
        "BTC-USDT",
        "2025-01-16",
        "2025-01-16",
        "--data-dir",
        data.to_str().unwrap(),
        "--json-dir",
        out.path().to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
        "--emit-ms",
        "3600000",
    ];
    args.extend(extra);
    let mut child = Child::spawn(&args);
    child.wait_for_line(ready, Duration::from_secs(60));
    std::thread::sleep(after);
    let interrupted_at = Instant::now();
    child.signal(signal);
    let status = child.wait(Duration::from_secs(20));
    let text = child.text();
    assert_eq!(status.code(), Some(code), "{text}");
    assert!(
        text.contains("stopping: writing the final state"),
        "the signal says what happens:\n{text}"
    );
    let summary = read_json(&summary);
    assert_eq!(summary["interrupted"], true, "{summary}");
    let trades = summary["trades"].as_i64().unwrap();
    assert!(
        0 < trades && trades < BIG_TRADES,
        "interrupted midway ({trades} of {BIG_TRADES} trades), in {:?}:\n{text}",
        interrupted_at.elapsed()
    );
    assert_final_state(out.path(), &summary, &text);
    no_leftovers(out.path());
}

#[test]
fn ctrl_c_during_process_writes_the_final_state_before_the_exit() {
    // At once: a release build reads the whole recording in about 90 ms. The loop looks at
    // the flag every 256 events, so some trades are always in.
    interrupted("process", &[], "reading", Duration::ZERO, libc::SIGINT, 130);
}

/// SIGTERM (`kill`, `docker stop`, systemd) and SIGHUP (a closed terminal) ended the run at
/// once: exit 143/129, JSON files empty, no summary, temporary files left.
#[test]
fn sigterm_and_sighup_during_process_write_the_final_state_before_the_exit() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        interrupted("process", &[], "reading", Duration::ZERO, signal, code);
    }
}

#[test]
fn ctrl_c_or_sigterm_during_run_writes_the_final_state_and_stops_the_server() {
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        interrupted(
            "run",
            // An hour replayed in a minute: 3 s in, some of it is processed even on a loaded
            // machine, and most of it is not yet.
            &["--port", "0", "--speed", "60"],
            "listening on http://127.0.0.1:",
            Duration::from_millis(3000),
            signal,
            code,
        );
    }
}

/// `orderflow process` on the good recording with files limited to `max_bytes` (as on a full
/// disk: a write past the limit fails with EFBIG instead of a signal).
fn with_file_size_limit(max_bytes: u64) -> (std::process::Output, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let out = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_orderflow"));
    command.args([
        "process",
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--json-dir",
        out.path().to_str().unwrap(),
    ]);
    // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: max_bytes,
                rlim_max: max_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    (command.output().unwrap(), out)
}

#[test]
fn a_full_disk_midway_is_a_clear_error_and_leaves_whole_files() {
    // The empty files (at most 21 bytes) fit; the final bar (47 bytes) does not.
    let (output, out) = with_file_size_limit(40);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("ohlc_data.json"),
        "the error names the file: {stderr}"
    );
    assert!(
        stderr.contains("disk full"),
        "and says what to check: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for name in FILES {
        read_json(&out.path().join(name));
    }
    assert_eq!(
        read_json(&out.path().join("ohlc_data.json")),
        json!([]),
        "the file that could not be written keeps its last whole content"
    );
    no_leftovers(out.path());
}

#[test]
fn a_disk_too_full_for_the_first_write_is_a_clear_error() {
    let (output, out) = with_file_size_limit(1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("ohlc_data.json"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "no file at all rather than a truncated one"
    );
}

#[test]
fn an_unwritable_summary_file_is_exit_2_after_the_json_files() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("a-file"), "x").unwrap();
    let summary = out.path().join("a-file").join("summary.json");
    let output = orderflow(&[
        "process",
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--json-dir",
        out.path().to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("summary.json"), "{stderr}");
    assert_eq!(
        read_json(&out.path().join("ohlc_data.json")),
        json!([[super::DAY, 100.5, 100.5, 100.0, 100.0, 3.0]])
    );
}

#[test]
fn stale_files_are_reset_when_a_run_finds_nothing() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let out = tempfile::tempdir().unwrap();
    for name in FILES {
        std::fs::write(out.path().join(name), "[[1, 2, 3, 4, 5, 6]]").unwrap();
    }
    let output = orderflow(&[
        "process",
        "BTC-USDT",
        "2025-02-01",
        "2025-02-01",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--json-dir",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(read_json(&out.path().join("ohlc_data.json")), json!([]));
    assert_eq!(read_json(&out.path().join("metrics_data.json")), json!([]));
    assert_eq!(
        read_json(&out.path().join("depth_data.json")),
        json!({"bids": [], "asks": []})
    );
    assert_eq!(
        read_json(&out.path().join("footprint_data.json")),
        json!([])
    );
}
