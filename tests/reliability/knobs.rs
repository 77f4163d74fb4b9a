//! Knobs with sane bounds, and a range of many files that stays cheap (issue 14, "files and
//! knobs"): one overlap warning per file, `--jobs` capped, `--emit-ms` with a floor, and a
//! `run` whose page cannot be served stopping before any work.

use std::net::TcpListener;

use super::{good_recording, sql};
use crate::common::{SCHEMA, orderflow, process};

/// A recording of the 15th with one trade at `DAY + offset_ms`.
fn one_trade(dir: &std::path::Path, name: &str, offset_ms: i64) {
    sql(
        &dir.join(name),
        &format!(
            "{SCHEMA}
             INSERT INTO trades VALUES (1, 'BTC-USDT', 't', 100, 1, 'buy', @DAY+{offset_ms}),
                                       (2, 'BTC-USDT', 't', 100, 1, 'buy', @DAY+{});",
            offset_ms + 60_000
        ),
    );
}

#[test]
fn each_file_that_overlaps_others_gets_one_warning_with_their_count() {
    let data = tempfile::tempdir().unwrap();
    // Three files over the same two minutes, and one an hour later that overlaps none.
    for (name, offset) in [
        ("BTC-USDT-2025-01-15-a.db", 0),
        ("BTC-USDT-2025-01-15-b.db", 30_000),
        ("BTC-USDT-2025-01-15-c.db", 50_000),
        ("BTC-USDT-2025-01-15-d.db", 3_600_000),
    ] {
        one_trade(data.path(), name, offset);
    }
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let summary = run.summary();
    for file in summary["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        let overlaps: Vec<&str> = file["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| w.as_str())
            .filter(|w| w.contains("overlap"))
            .collect();
        if path.ends_with("-d.db") {
            assert!(overlaps.is_empty(), "{path}: {overlaps:?}");
        } else {
            assert_eq!(overlaps.len(), 1, "{path}: {overlaps:?}");
            assert!(
                overlaps[0].contains("overlaps 2 other files"),
                "{path}: {overlaps:?}"
            );
        }
    }
}

#[test]
fn jobs_beyond_four_per_core_are_cut_down_with_a_warning() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), super::GOOD, "");
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--jobs", "4294967295"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stderr().contains("per core: using"), "{}", run.stderr());
    assert_eq!(run.summary()["trades"], 2);
}

#[test]
fn emit_ms_has_a_floor() {
    let output = orderflow(&[
        "process",
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        "--emit-ms",
        "0",
    ]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("--emit-ms"), "{text}");
}

#[test]
fn run_whose_port_is_taken_stops_before_any_work() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), super::GOOD, "");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = tempfile::tempdir().unwrap();
    let output = orderflow(&super::day_run(
        "run",
        "2025-01-15",
        data.path(),
        out.path(),
        &["--port", &port],
    ));
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains(&port) && text.contains("--port"), "{text}");
    assert!(
        !out.path().join("ohlc_data.json").exists()
            || std::fs::read_to_string(out.path().join("ohlc_data.json")).unwrap() == "[]",
        "nothing was processed"
    );
}

/// `2025-01-16 2025-01-15`: the midnight after END is START's, but END's day is before START's
/// (SPEC 1.1). It was taken as an empty range: exit 2 with three empty JSON files written into
/// the working folder (the repository's root, when the tests ran).
#[test]
fn an_end_day_before_the_start_day_is_a_usage_error_that_writes_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(["process", "BTC-USDT", "2025-01-16", "2025-01-15"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("before START"), "{text}");
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// `--summary -` made a file named `-`; logs to a pipe carried colour codes.
#[test]
fn summary_dash_is_stdout_and_piped_logs_carry_no_colour_codes() {
    let data = tempfile::tempdir().unwrap();
    good_recording(data.path(), super::GOOD, "");
    let out = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(super::day_run(
            "process",
            "2025-01-15",
            data.path(),
            out.path(),
            &["--summary", "-"],
        ))
        .current_dir(out.path())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["trades"], 2);
    assert!(!out.path().join("-").exists(), "no file named -");
    assert!(!output.stderr.contains(&0x1b), "no escape codes on a pipe");
}
