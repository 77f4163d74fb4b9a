//! End to end: `orderflow process` on recordings built here, checked against hand-computed JSON.

use std::path::Path;

use serde_json::json;

use crate::common::{assert_json_eq, orderflow, process, recording};

/// 2025-01-15T00:00:00Z in ms.
const DAY: i64 = 1_736_899_200_000;
const MINUTE: i64 = 60_000;

/// The worked example of the README: warm-up snapshot, ties, a trade before START, a trade at END.
fn worked_example(dir: &Path) {
    recording(
        dir,
        "BTC-USDT-2025-01-15.db",
        &format!(
            "INSERT INTO book VALUES
               (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\",\"0\",\"1\"],[\"99\",\"2\",\"0\",\"1\"]]', '[[\"101\",\"1.5\",\"0\",\"1\"],[\"102\",\"3\",\"0\",\"2\"]]', {warmup}),
               (2, 'BTC-USDT', 'update', '[[\"100\",\"0\",\"0\",\"0\"],[\"98\",\"4\",\"0\",\"1\"]]', '[]', {t1000}),
               (3, 'BTC-USDT', 'update', NULL, '[[''101'', ''0'', ''0'', ''0'']]', {t61000});
             INSERT INTO trades VALUES
               (1, 'BTC-USDT', 't1', 100.5, 9, 'buy', {before}),
               (2, 'BTC-USDT', 't2', 101, 0.5, 'buy', {t500}),
               (3, 'BTC-USDT', 't3', '99', '1.0', 'SELL', {t1000}),
               (4, 'BTC-USDT', 't4', 102, 2, 'buy', {t61000}),
               (5, 'BTC-USDT', 't5', 103, 1, 'sell', {end});",
            warmup = DAY - 5_000,
            before = DAY - 100,
            t500 = DAY + 500,
            t1000 = DAY + 1_000,
            t61000 = DAY + 61_000,
            end = DAY + 86_400_000,
        ),
    );
}

#[test]
fn process_writes_the_three_files_exactly() {
    let data = tempfile::tempdir().unwrap();
    worked_example(data.path());
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());

    assert_json_eq(
        &run.json("ohlc_data.json"),
        &json!([
            [DAY, 101.0, 101.0, 99.0, 99.0, 1.5],
            [DAY + MINUTE, 102.0, 102.0, 102.0, 102.0, 2.0]
        ]),
        "ohlc",
    );
    // OBI samples: W0: -0.2 (after the trade at +500), 1/7 (book row 2), 1/7 (trade 3);
    // W1: 1/3 (book row 3), 1/3 (trade 4). CVD: 0.5, 0.5, -0.5 | -0.5, 1.5.
    assert_json_eq(
        &run.json("metrics_data.json"),
        &json!([
            [DAY, -0.2, 1.0 / 7.0, -0.2, 1.0 / 7.0, 0.5, 0.5, -0.5, -0.5],
            [
                DAY + MINUTE,
                1.0 / 3.0,
                1.0 / 3.0,
                1.0 / 3.0,
                1.0 / 3.0,
                -0.5,
                1.5,
                -0.5,
                1.5
            ]
        ]),
        "metrics",
    );
    assert_json_eq(
        &run.json("depth_data.json"),
        &json!({"bids": [[99.0, 2.0], [98.0, 4.0]], "asks": [[102.0, 3.0]]}),
        "depth",
    );

    let summary = run.summary();
    assert_eq!(summary["book_rows"], 2);
    assert_eq!(summary["warmup_book_rows"], 1);
    assert_eq!(summary["trades"], 3);
    assert_eq!(summary["bars"], 2);
    assert_eq!(summary["metric_bars"], 2);
    assert_eq!(summary["skipped"]["total"], 0);
    assert_eq!(summary["first_ts"], DAY + 500);
    assert_eq!(summary["last_ts"], DAY + 61_000);
}

#[test]
fn depth_and_window_options_apply() {
    let data = tempfile::tempdir().unwrap();
    worked_example(data.path());
    let run = process(
        data.path(),
        "btc-usdt",
        "2025-01-15T00:00:00Z",
        "2025-01-15T00:02:00Z",
        &[
            "--depth-levels",
            "1",
            "--window-seconds",
            "3600",
            "--obi-levels",
            "1",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_json_eq(
        &run.json("ohlc_data.json"),
        &json!([[DAY, 101.0, 102.0, 99.0, 102.0, 3.5]]),
        "ohlc",
    );
    assert_json_eq(
        &run.json("depth_data.json"),
        &json!({"bids": [[99.0, 2.0]], "asks": [[102.0, 3.0]]}),
        "depth",
    );
    // Best level only: (1 - 1.5)/2.5, then (2 - 1.5)/3.5 twice, then (2 - 3)/5 twice.
    assert_json_eq(
        &run.json("metrics_data.json"),
        &json!([[DAY, -0.2, 1.0 / 7.0, -0.2, -0.2, 0.5, 1.5, -0.5, 1.5]]),
        "metrics",
    );
}

#[test]
fn bad_rows_are_skipped_counted_and_named() {
    let data = tempfile::tempdir().unwrap();
    recording(
        data.path(),
        "BTC-USDT-2025-01-15.db",
        &format!(
            "INSERT INTO book VALUES
               (1, 'BTC-USDT', 'snapshot', '[[\"100\",\"1\"]]', '[[\"101\",\"1\"]]', {t0}),
               (2, 'BTC-USDT', 'update', '[[\"100\",\"1\"', '[]', {t0}),
               (3, 'BTC-USDT', 'update', '[[\"-5\",\"1\"]]', '[]', {t0}),
               (4, 'BTC-USDT', 'update', '[]', '[]', NULL);
             INSERT INTO trades VALUES
               (1, 'BTC-USDT', 'a', 100, 1, 'buy', {t0}),
               (2, 'BTC-USDT', 'b', -100, 1, 'buy', {t0}),
               (3, 'BTC-USDT', 'c', 100, 0, 'buy', {t0}),
               (4, 'BTC-USDT', 'd', 100, 1, 'hold', {t0}),
               (5, 'BTC-USDT', 'e', 100, 1, 'sell', 'yesterday');",
            t0 = DAY + 1_000
        ),
    );
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(
        run.code(),
        0,
        "bad rows alone do not change the exit status: {}",
        run.stderr()
    );
    assert_json_eq(
        &run.json("ohlc_data.json"),
        &json!([[DAY, 100.0, 100.0, 100.0, 100.0, 1.0]]),
        "ohlc",
    );
    let skipped = &run.summary()["skipped"];
    assert_eq!(skipped["total"], 7, "{skipped}");
    let by_reason = skipped["by_reason"].as_object().unwrap();
    for reason in [
        "unparsable_level_text",
        "invalid_level",
        "invalid_timestamp",
        "invalid_trade_price",
        "invalid_trade_size",
        "invalid_trade_side",
    ] {
        assert!(
            by_reason.contains_key(reason),
            "{reason} missing from {skipped}"
        );
    }
    let examples = skipped["examples"].as_array().unwrap();
    assert!(
        examples
            .iter()
            .any(|e| e["table"] == "book" && e["row_id"] == 2),
        "{skipped}"
    );
    assert!(
        examples
            .iter()
            .any(|e| e["table"] == "trades" && e["row_id"] == 4),
        "{skipped}"
    );
}

#[test]
fn no_recording_is_exit_2_with_a_message_and_empty_files() {
    let data = tempfile::tempdir().unwrap();
    worked_example(data.path());
    let run = process(data.path(), "ETH-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("ETH-USDT"), "{}", run.stderr());
    assert_eq!(run.json("ohlc_data.json"), json!([]));
    assert_eq!(run.json("metrics_data.json"), json!([]));
    assert_eq!(run.json("depth_data.json"), json!({"bids": [], "asks": []}));
}

#[test]
fn no_data_in_range_is_exit_2_naming_the_candidates() {
    let data = tempfile::tempdir().unwrap();
    worked_example(data.path());
    let run = process(data.path(), "BTC-USDT", "2025-02-01", "2025-02-02", &[]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("BTC-USDT-2025-01-15.db"),
        "{}",
        run.stderr()
    );
}

#[test]
fn an_unusable_candidate_is_skipped_and_gives_exit_1() {
    let data = tempfile::tempdir().unwrap();
    worked_example(data.path());
    std::fs::write(
        data.path().join("BTC-USDT-2025-01-16.db"),
        "this is not a database",
    )
    .unwrap();
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-16", &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("BTC-USDT-2025-01-16.db"),
        "{}",
        run.stderr()
    );
    // The range runs to the end of 2025-01-16, so the trade at its midnight makes a third bar.
    assert_eq!(run.json("ohlc_data.json").as_array().unwrap().len(), 3);
}

#[test]
fn usage_errors_are_exit_2() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    for args in [
        vec![
            "process",
            "BTC-USDT",
            "2025-01-16",
            "2025-01-15",
            "--data-dir",
            dir,
        ],
        vec![
            "process",
            "BTC-USDT",
            "2025-13-01",
            "2025-01-15",
            "--data-dir",
            dir,
        ],
        vec![
            "process",
            "BTC-USDT",
            "2025-01-15",
            "2025-01-15",
            "--window-seconds",
            "0",
        ],
        vec![
            "process",
            "BTC-USDT",
            "2025-01-15",
            "2025-01-15",
            "--window-seconds",
            "-5",
        ],
        vec![
            "process",
            "BTC-USDT",
            "2025-01-15",
            "2025-01-15",
            "--depth-levels",
            "0",
        ],
    ] {
        let output = orderflow(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?} says why");
    }
}
