//! Nothing the user already has is lost (SPEC 1.1, 4): outputs never replace a recording, a
//! device, a FIFO, a folder or a file orderflow did not write; `synth` and `demo` never
//! overwrite; hidden folders are not searched.

use std::path::Path;

use serde_json::{Value, json};

use super::{DAY, GOOD, good_recording};
use crate::common::process;

/// The bar of [`good_recording`].
fn good_bar() -> Value {
    json!([[DAY, 100.5, 100.5, 100.0, 100.0, 3.0]])
}

fn copy_into(from: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(from, dir.join(from.file_name().unwrap())).unwrap();
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
