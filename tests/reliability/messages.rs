//! Messages that say what happened (issue 14, "messages and habits"): what a folder holds
//! when it holds nothing of the instrument, a file of another instrument named as such, a
//! missing `serve` folder, an option of another command, unit conversions said once, the JSON
//! files' 1000 bars, and the demo's size.

use std::path::Path;
use std::time::Duration;

use super::child::Child;
use super::{GOOD, OTHER, good_recording, sql};
use crate::common::{SCHEMA, orderflow, process};

#[test]
fn no_recording_of_the_instrument_says_which_were_found() {
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir(data.path().join("older")).unwrap();
    for name in [
        "BTC-USDT-2025-01-14.db",
        "BTC-USDT-2025-01-15.db",
        "older/btc-usdt-2025-01-13.sqlite",
        "ETH-USDT-2025-01-15.db",
        "notes.txt",
    ] {
        std::fs::write(data.path().join(name), b"").unwrap();
    }
    let run = process(data.path(), "SOL-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("found 3 recordings of BTC-USDT, 1 of ETH-USDT;"),
        "{}",
        run.stderr()
    );

    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), b"").unwrap();
    let run = process(empty.path(), "SOL-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("the folder holds no recording of any instrument"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_file_of_another_instrument_says_it_holds_none_of_this_one() {
    let data = tempfile::tempdir().unwrap();
    let btc = good_recording(data.path(), GOOD, "");
    std::fs::copy(&btc, data.path().join("ETH-USDT-2025-01-15.db")).unwrap();
    std::fs::remove_file(&btc).unwrap();
    let run = process(data.path(), "ETH-USDT", "2025-01-15", "2025-01-16", &[]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stdout = String::from_utf8_lossy(&run.output.stdout).into_owned();
    assert!(
        stdout.contains("ETH-USDT-2025-01-15.db [no rows of ETH-USDT]"),
        "{stdout}"
    );
    assert!(!stdout.contains("not in range"), "{stdout}");
    let file = &run.summary()["files"][0];
    assert_eq!(file["status"], "no_rows_of_instrument");
    assert_eq!(
        file["warnings"][0],
        "holds no rows of ETH-USDT, only rows of BTC-USDT"
    );

    // A file whose rows of the instrument are all outside the range is still "not in range".
    let btc = tempfile::tempdir().unwrap();
    good_recording(btc.path(), GOOD, "");
    let run = process(btc.path(), "btc-usdt", "2025-01-20", "2025-01-20", &[]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert_eq!(run.summary()["files"][0]["status"], "out_of_range");
}

#[test]
fn serve_refuses_a_json_folder_that_is_missing_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    for (folder, says) in [(&missing, "does not exist"), (&file, "is not a folder")] {
        let mut child = Child::spawn(&[
            "serve",
            "--json-dir",
            folder.to_str().unwrap(),
            "--port",
            "0",
        ]);
        let status = child.wait(Duration::from_secs(10));
        let text = child.text();
        assert_eq!(status.code(), Some(2), "{text}");
        assert!(text.contains(says), "{text}");
        assert!(!text.contains("listening on"), "{text}");
    }
}

#[test]
fn an_option_of_another_command_gets_a_tip_that_helps() {
    let output = orderflow(&[
        "process",
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        "--speed",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`--speed` is an option of `orderflow run` and `orderflow demo`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("process always runs as fast as it can"),
        "{stderr}"
    );
    assert!(!stderr.contains("-- --speed"), "{stderr}");

    let output = orderflow(&["serve", "--jobs=2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`--jobs` is an option of `orderflow run` and `orderflow process`"),
        "{stderr}"
    );
}

/// A recording of `day` (ms) in seconds whose trades are not in time order by id, so that a
/// read that trusts the order starts over.
fn in_seconds_out_of_order(path: &Path, day: &str) {
    sql(
        path,
        &format!(
            "{SCHEMA}
            INSERT INTO book VALUES (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\"]]', '[[\"101\",\"1\"]]', {day}/1000+1);
            INSERT INTO trades VALUES (1, 'BTC-USDT', 'a', 100, 1, 'buy', {day}/1000+30),
                                      (2, 'BTC-USDT', 'b', 100, 1, 'sell', {day}/1000+20),
                                      (3, 'BTC-USDT', 'c', 100, 1, 'buy', {day}/1000+40);"
        ),
    );
}

#[test]
fn each_unit_conversion_is_said_once_per_file_and_table() {
    let data = tempfile::tempdir().unwrap();
    in_seconds_out_of_order(&data.path().join(GOOD), "@DAY");
    in_seconds_out_of_order(&data.path().join(OTHER), "@DAY16");
    for jobs in ["1", "2"] {
        let run = process(
            data.path(),
            "BTC-USDT",
            "2025-01-15",
            "2025-01-16",
            &["--jobs", jobs],
        );
        assert_eq!(run.code(), 0, "{}", run.stderr());
        assert_eq!(run.summary()["trades"], 6);
        assert!(
            run.stderr().contains("reading it again"),
            "{}",
            run.stderr()
        );
        let stdout = String::from_utf8_lossy(&run.output.stdout).into_owned();
        for (text, name) in [(&stdout, "summary"), (&run.stderr(), "log")] {
            for file in [GOOD, OTHER] {
                for table in ["book", "trades"] {
                    let note = format!("{file}: {table} timestamps in seconds, converted to ms");
                    let said = if name == "log" {
                        text.matches(&note).count()
                    } else {
                        // The summary names the file on its line, and its notes below it.
                        let note = format!("{table} timestamps in seconds, converted to ms");
                        text.lines()
                            .skip_while(|line| !line.contains(file))
                            .skip(1)
                            .take_while(|line| line.starts_with("      "))
                            .filter(|line| line.trim() == note)
                            .count()
                    };
                    assert_eq!(said, 1, "--jobs {jobs}, {name}: {note}:\n{text}");
                }
            }
            assert_eq!(
                text.matches("converted to ms").count(),
                4,
                "--jobs {jobs}, {name}:\n{text}"
            );
        }
        for file in run.summary()["files"].as_array().unwrap() {
            assert_eq!(file["unit_conversions"].as_array().unwrap().len(), 2);
            assert!(
                !file["warnings"].to_string().contains("converted"),
                "{file}"
            );
        }
    }
}

#[test]
fn the_summary_says_when_the_json_files_keep_fewer_bars_than_were_made() {
    let data = tempfile::tempdir().unwrap();
    // 1200 trades a second apart: 1200 one-second bars.
    sql(
        &data.path().join(GOOD),
        &format!(
            "{SCHEMA}
            INSERT INTO book VALUES (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\"]]', '[[\"101\",\"1\"]]', @DAY+500);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
            INSERT INTO trades SELECT i, 'BTC-USDT', 't' || i, 100, 1, 'buy', @DAY + i * 1000 FROM n;"
        ),
    );
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--window-seconds", "1"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let summary = run.summary();
    assert_eq!(summary["bars"], 1200);
    assert_eq!(summary["bars_in_json"], 1000);
    assert_eq!(run.json("ohlc_data.json").as_array().unwrap().len(), 1000);
    let stdout = String::from_utf8_lossy(&run.output.stdout).into_owned();
    let metric_bars = summary["metric_bars"].as_u64().unwrap();
    assert!(metric_bars > 1000, "{summary}");
    assert!(
        stdout.contains(&format!(
            "the JSON files keep the newest 1000 of the 1200 bars and of the {metric_bars} metric bars"
        )),
        "{stdout}"
    );

    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.summary()["bars"], 21);
    assert_eq!(run.summary()["bars_in_json"], 21);
    let stdout = String::from_utf8_lossy(&run.output.stdout).into_owned();
    assert!(!stdout.contains("the JSON files keep"), "{stdout}");
}

#[test]
fn the_demo_says_where_it_writes_and_about_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut child = Child::spawn(&[
        "demo",
        "--data-dir",
        data.to_str().unwrap(),
        "--hours",
        "0.05",
        "--port",
        "0",
        "--speed",
        "max",
    ]);
    let line = child.wait_for_line("synthetic recording", Duration::from_secs(60));
    child.wait_for_line("listening on", Duration::from_secs(60));
    child.interrupt();
    child.wait(Duration::from_secs(30));
    assert!(line.contains(data.to_str().unwrap()), "{line}");
    assert!(line.contains("reuses it"), "{line}");
    let estimate: f64 = line
        .split("(about ")
        .nth(1)
        .and_then(|rest| rest.split(" MB)").next())
        .and_then(|mb| mb.parse().ok())
        .unwrap_or_else(|| panic!("no size in {line:?}"));
    let written = std::fs::metadata(data.join(GOOD)).unwrap().len() as f64 / 1e6;
    assert!(
        estimate > written / 2.0 && estimate < written * 2.0,
        "estimated {estimate} MB, wrote {written} MB"
    );
}
