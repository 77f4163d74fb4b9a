//! Nothing the user already has is lost (SPEC 1.1, 4): an output never replaces a recording, a
//! device, a FIFO, a folder or a file orderflow did not write; the temporary files of killed
//! runs are cleaned up, never those of a live one; hidden folders are not searched.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::{DAY, GOOD, good_recording};
use crate::common::{orderflow, process};

const FILES: [&str; 4] = [
    "ohlc_data.json",
    "metrics_data.json",
    "depth_data.json",
    "footprint_data.json",
];

/// The bar of [`good_recording`].
fn good_bar() -> Value {
    json!([[DAY, 100.5, 100.5, 100.0, 100.0, 3.0]])
}

fn copy_into(from: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(from, dir.join(from.file_name().unwrap())).unwrap();
}

/// What a path is, to compare before and after: its kind and, for a file, its bytes; for a
/// folder, its entries; for a link, where it points.
#[derive(Debug, PartialEq)]
enum Snapshot {
    File(Vec<u8>),
    Link(PathBuf),
    Folder(Vec<String>),
    Fifo,
    Device,
    Missing,
}

fn snapshot(path: &Path) -> Snapshot {
    let Ok(meta) = path.symlink_metadata() else {
        return Snapshot::Missing;
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        Snapshot::Link(std::fs::read_link(path).unwrap())
    } else if kind.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Snapshot::Folder(names)
    } else if kind.is_fifo() {
        Snapshot::Fifo
    } else if kind.is_char_device() || kind.is_block_device() {
        Snapshot::Device
    } else {
        Snapshot::File(std::fs::read(path).unwrap())
    }
}

fn mkfifo(path: &Path) {
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
}

/// A character device like /dev/null (1, 3) at `path`; false when not allowed (not root).
fn mknod_null(path: &Path) -> bool {
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mode and device are plain numbers.
    unsafe { libc::mknod(name.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) == 0 }
}

/// The things that are not orderflow's to replace, made at `path`: `(case, made)`.
fn make_foreign(case: &str, path: &Path, recording: &Path) -> bool {
    match case {
        "recording" => {
            std::fs::copy(recording, path).unwrap();
        }
        "link to a recording" => std::os::unix::fs::symlink(recording, path).unwrap(),
        "folder" => {
            std::fs::create_dir(path).unwrap();
            std::fs::write(path.join("keep.txt"), "mine").unwrap();
        }
        "fifo" => mkfifo(path),
        "device" => return mknod_null(path),
        "notes" => std::fs::write(path, "my notes, not JSON\n").unwrap(),
        "foreign JSON" => std::fs::write(path, "{\"mine\": [1, 2, 3]}\n").unwrap(),
        _ => unreachable!("{case}"),
    }
    true
}

const FOREIGN: [&str; 7] = [
    "recording",
    "link to a recording",
    "folder",
    "fifo",
    "device",
    "notes",
    "foreign JSON",
];

fn process_args<'a>(data: &'a Path, json_dir: &'a Path, summary: &'a Path) -> Vec<&'a str> {
    let summary = summary.to_str().unwrap();
    super::day_run(
        "process",
        "2025-01-15",
        data,
        json_dir,
        &["--summary", summary],
    )
}

/// `--summary` naming an input recording replaced it with 602 bytes of JSON (exit 0); naming a
/// device replaced the device. Now each foreign target is refused with exit 2 before any work.
#[test]
fn a_summary_over_a_file_not_of_orderflows_making_is_refused_before_any_work() {
    for case in FOREIGN {
        let data = tempfile::tempdir().unwrap();
        let recording = good_recording(data.path(), GOOD, "");
        let out = tempfile::tempdir().unwrap();
        let json_dir = out.path().join("json");
        // The recording itself, as in the issue; the others beside it in a folder of their own.
        let summary = if case == "recording" {
            recording.clone()
        } else {
            let summary = out.path().join("summary.json");
            if !make_foreign(case, &summary, &recording) {
                continue;
            }
            summary
        };
        let (before, inputs) = (snapshot(&summary), super::inputs(data.path()));
        let output = orderflow(&process_args(data.path(), &json_dir, &summary));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{case}: {stderr}");
        assert_eq!(snapshot(&summary), before, "{case}: left as it was");
        super::assert_inputs_unchanged(&inputs, &super::inputs(data.path()));
        assert!(
            stderr.contains(&summary.display().to_string()) && stderr.contains("--summary"),
            "{case}: the message names the file and says what to do: {stderr}"
        );
        assert!(!json_dir.exists(), "{case}: refused before any work");
    }
}

/// A directory or FIFO named `ohlc_data.json` was moved or replaced. Now any foreign file at
/// the name of a JSON file is refused with exit 2, before any of the three is written.
#[test]
fn a_json_file_over_a_file_not_of_orderflows_making_is_refused_before_any_work() {
    for case in FOREIGN {
        for name in FILES {
            let data = tempfile::tempdir().unwrap();
            let recording = good_recording(data.path(), GOOD, "");
            let out = tempfile::tempdir().unwrap();
            let target = out.path().join(name);
            if !make_foreign(case, &target, &recording) {
                continue;
            }
            let summary = out.path().join("summary.json");
            let before = snapshot(&target);
            let output = orderflow(&process_args(data.path(), out.path(), &summary));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{case} as {name}: {stderr}");
            assert_eq!(
                snapshot(&target),
                before,
                "{case} as {name}: left as it was"
            );
            assert!(
                stderr.contains(&target.display().to_string()) && stderr.contains("--json-dir"),
                "{case} as {name}: the message names the file and says what to do: {stderr}"
            );
            let written: Vec<_> = FILES
                .iter()
                .chain(["summary.json"].iter())
                .filter(|other| **other != name && out.path().join(other).exists())
                .collect();
            assert!(written.is_empty(), "{case} as {name}: wrote {written:?}");
        }
    }
}

/// orderflow's own files are replaced: empty ones, those of an earlier run, and through a
/// symbolic link the file it points to (the link stays).
#[test]
fn orderflows_own_files_are_replaced_and_links_are_written_through() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let out = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.json");
    std::fs::write(&summary, "").unwrap();
    let first = orderflow(&process_args(data.path(), out.path(), &summary));
    assert_eq!(first.status.code(), Some(0), "{first:?}");

    // The earlier run's files, and links to a summary and an ohlc file of orderflow's elsewhere.
    for (name, content) in [
        (
            "summary.json",
            "{\"instrument\": \"X\", \"start\": 0, \"end\": 1, \"files\": [], \"skipped\": {}}",
        ),
        ("ohlc_data.json", "[]"),
    ] {
        std::fs::write(elsewhere.path().join(name), content).unwrap();
    }
    let linked_summary = out.path().join("linked-summary.json");
    std::os::unix::fs::symlink(elsewhere.path().join("summary.json"), &linked_summary).unwrap();
    std::fs::remove_file(out.path().join("ohlc_data.json")).unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path().join("ohlc_data.json"),
        out.path().join("ohlc_data.json"),
    )
    .unwrap();
    let second = orderflow(&process_args(data.path(), out.path(), &linked_summary));
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(linked_summary.symlink_metadata().unwrap().is_symlink());
    assert!(
        out.path()
            .join("ohlc_data.json")
            .symlink_metadata()
            .unwrap()
            .is_symlink()
    );
    let read = |path: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    assert_eq!(read(&elsewhere.path().join("ohlc_data.json")), good_bar());
    let written = read(&elsewhere.path().join("summary.json"));
    assert_eq!(written["trades"], 2, "{written}");
    assert_eq!(written["interrupted"], false, "{written}");
    assert_eq!(read(&summary)["trades"], 2);
}

/// The summary and a JSON file of the same run would overwrite each other: refused.
#[test]
fn a_summary_naming_one_of_the_runs_json_files_is_refused() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let out = tempfile::tempdir().unwrap();
    let json_dir = out.path().join("json");
    let summary = json_dir.join("..").join("json").join("ohlc_data.json");
    let output = orderflow(&process_args(data.path(), &json_dir, &summary));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ohlc_data.json") && stderr.contains("summary.json"),
        "{stderr}"
    );
    assert!(!json_dir.exists(), "refused before any work");
}

/// A pid that no process has: a child's, once it has been waited for.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// `.orderflow-*.tmp` files left by killed runs were never deleted. Now those whose process is
/// gone are (in the JSON folder, the summary's and synth's); a live run's stay.
#[test]
fn temporary_files_of_killed_runs_are_cleaned_up_and_those_of_live_runs_kept() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), GOOD, "");
    let out = tempfile::tempdir().unwrap();
    let mut live = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let (dead, alive) = (dead_pid(), live.id());
    let hour_ago = SystemTime::now() - Duration::from_secs(7200);
    let stale = [
        format!(".orderflow-{dead}-AbC123.tmp"),
        // An older version's name, without a pid, two hours old.
        ".orderflow-Old123.tmp".to_owned(),
    ];
    let kept = [
        format!(".orderflow-{alive}-AbC123.tmp"),
        // Without a pid and fresh: maybe an older version's run at work.
        ".orderflow-New123.tmp".to_owned(),
    ];
    for name in stale.iter().chain(&kept) {
        std::fs::write(out.path().join(name), "partial").unwrap();
    }
    std::fs::File::options()
        .append(true)
        .open(out.path().join(&stale[1]))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let summary = out.path().join("summary.json");
    let output = orderflow(&process_args(data.path(), out.path(), &summary));
    let _ = live.kill();
    let _ = live.wait();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    for name in &stale {
        assert!(!out.path().join(name).exists(), "{name} is cleaned up");
    }
    for name in &kept {
        assert_eq!(
            std::fs::read(out.path().join(name)).unwrap(),
            b"partial",
            "{name} is kept"
        );
    }
}

#[test]
fn a_copy_in_a_hidden_folder_is_not_read_a_second_time() {
    let data = tempfile::tempdir().unwrap();
    let good = good_recording(data.path(), GOOD, "");
    copy_into(&good, &data.path().join(".backup"));
    copy_into(&good, &data.path().join("sub").join(".git"));
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let summary = run.summary();
    assert_eq!(summary["files"].as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(summary["trades"], 2, "each trade counted once: {summary}");
    assert_eq!(run.json("ohlc_data.json"), good_bar());
}

#[test]
fn a_data_folder_whose_own_name_is_hidden_is_searched() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join(".recordings");
    std::fs::create_dir(&data).unwrap();
    good_recording(&data, GOOD, "");
    let run = process(&data, "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.json("ohlc_data.json"), good_bar());
}
