//! `synth` and `demo` never overwrite an existing file (SPEC 4): they refuse, naming it, before
//! writing anything; and the demo still runs twice in its folder, reusing its own recording.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::child::Child;
use super::{GOOD, good_recording};
use crate::common::orderflow;

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `synth --out R` replaced the recording `R/BTC-USDT-2025-01-15.db` without a word.
#[test]
fn synth_refuses_to_overwrite_a_recording() {
    let data = tempfile::tempdir().unwrap();
    let recording = good_recording(data.path(), GOOD, "");
    let before = std::fs::read(&recording).unwrap();
    let output = orderflow(&[
        "synth",
        "--out",
        data.path().to_str().unwrap(),
        "--hours",
        "0.01",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(std::fs::read(&recording).unwrap(), before, "left as it was");
    assert!(
        stderr.contains(&recording.display().to_string()) && stderr.contains("--out"),
        "the message names the file and says what to do: {stderr}"
    );
    assert_eq!(entries(data.path()), [GOOD], "nothing else was written");
}

/// `demo --data-dir R` replaced the recording in `R` and replayed the synthetic one instead.
#[test]
fn demo_refuses_to_overwrite_a_recording_in_its_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let recording = good_recording(data.path(), GOOD, "");
    let before = std::fs::read(&recording).unwrap();
    let mut child = Child::spawn(&[
        "demo",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--hours",
        "0.01",
        "--port",
        "0",
        "--speed",
        "max",
    ]);
    let status = child.wait(Duration::from_secs(60));
    let text = child.text();
    assert_eq!(status.code(), Some(2), "{text}");
    assert_eq!(std::fs::read(&recording).unwrap(), before, "left as it was");
    assert!(
        text.contains(&recording.display().to_string()) && text.contains("--data-dir"),
        "the message names the file and says what to do: {text}"
    );
    assert_eq!(entries(data.path()), [GOOD], "nothing else was written");
}

/// Runs the demo until processing ends, then stops it with Ctrl-C; returns its output.
fn demo_once(command: &mut Command) -> String {
    let mut child = Child::spawn_command(command);
    child.wait_for_line("processing finished", Duration::from_secs(120));
    child.interrupt();
    let status = child.wait(Duration::from_secs(20));
    let text = child.text();
    assert_eq!(status.code(), Some(0), "{text}");
    text
}

/// Running `orderflow demo` twice works: the second run reuses the recording the first one
/// generated (its own cache folder, or a `--data-dir` it wrote), byte for byte.
#[test]
fn the_demo_runs_twice_reusing_its_own_recording() {
    for own_folder in [true, false] {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("demo-data");
        let demo = || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_orderflow"));
            command
                .args(["demo", "--hours", "0.01", "--port", "0", "--speed", "max"])
                .env("HOME", home.path())
                .env("XDG_CACHE_HOME", home.path().join("cache"));
            if !own_folder {
                command.args(["--data-dir", data.to_str().unwrap()]);
            }
            command
        };
        let folder = if own_folder {
            home.path().join("cache/orderflow/demo-0.01h")
        } else {
            data.clone()
        };
        let first = demo_once(&mut demo());
        assert!(first.contains("writing a 0.01-hour"), "{first}");
        let recording = folder.join("BTC-USDT-2025-01-15.db");
        let bytes = std::fs::read(&recording).unwrap();
        let second = demo_once(&mut demo());
        assert!(
            second.contains("using the demo recording"),
            "own folder {own_folder}: {second}"
        );
        assert_eq!(std::fs::read(&recording).unwrap(), bytes);
    }
}
