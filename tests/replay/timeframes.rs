//! Timeframes of trades at price: the footprints and bar extras of `?tf=` over a 1-minute
//! `run` against `orderflow process` with the larger window.

use serde_json::{Value, json};

use super::{END, END_MS, Replay, START, exchange, recordings};
use crate::common::process;

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Asserts that two footprints in the API's form `[[ts, [[price, buy, sell], ...]], ...]` have
/// the same windows, the same exact prices, and sums within 1e-9.
#[track_caller]
fn assert_footprints_close(got: &Value, want: &Value) {
    let (got, want) = (got.as_array().unwrap(), want.as_array().unwrap());
    assert_eq!(got.len(), want.len(), "footprints");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g[0], w[0], "window");
        let (g_rows, w_rows) = (g[1].as_array().unwrap(), w[1].as_array().unwrap());
        assert_eq!(g_rows.len(), w_rows.len(), "rows of {}", w[0]);
        for (g_row, w_row) in g_rows.iter().zip(w_rows) {
            assert_eq!(g_row[0], w_row[0], "price in {}", w[0]);
            for i in [1, 2] {
                let (a, b) = (g_row[i].as_f64().unwrap(), w_row[i].as_f64().unwrap());
                assert!(close_to(a, b), "{g_row} vs {w_row} in {}", w[0]);
            }
        }
    }
}

#[test]
fn coarse_footprints_of_a_one_minute_run_are_those_of_a_run_with_the_larger_window() {
    let data = recordings();
    let options = ["--window-seconds", "60", "--depth-levels", "20"];
    let replay = Replay::start_with(data.path(), &options, &["--paused"]);
    replay.seek(END_MS);
    let five = process(
        data.path(),
        "BTC-USDT",
        START,
        END,
        &["--window-seconds", "300", "--depth-levels", "20"],
    );
    assert_eq!(five.code(), 0, "{}", five.stderr());
    let want = five.json("footprint_data.json");
    assert!(want.as_array().unwrap().len() >= 3, "{want}");
    let got = replay.get("/api/footprint?tf=300");
    assert_footprints_close(&got, &want);

    // The bar extras of tf=300 are the sums of those rows, and count the trades of the window
    // (a 300-second run's own bars count them too: their volume is the sum of both sides).
    let extras = replay.get("/api/bar_extras?tf=300");
    let bars = five.json("ohlc_data.json");
    let extras = extras.as_array().unwrap();
    assert_eq!(extras.len(), want.as_array().unwrap().len());
    for ((extra, bar), footprint) in extras
        .iter()
        .zip(bars.as_array().unwrap())
        .zip(want.as_array().unwrap())
    {
        assert_eq!((&extra[0], &extra[0]), (&bar[0], &footprint[0]));
        let side = |i: usize| {
            footprint[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r[i].as_f64().unwrap())
                .sum::<f64>()
        };
        let [buy, sell, delta] = [1, 2, 3].map(|i| extra[i].as_f64().unwrap());
        assert!(
            close_to(buy, side(1)) && close_to(sell, side(2)),
            "{extra} vs {footprint}"
        );
        assert!(close_to(delta, buy - sell), "{extra}");
        assert!(
            close_to(buy + sell, bar[5].as_f64().unwrap()),
            "{extra} vs {bar}"
        );
        assert!(extra[4].as_u64().unwrap() > 0, "{extra}");
    }
    // The trades of the coarse windows are those of the run's windows.
    let fine_trades: u64 = replay
        .get("/api/bar_extras")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[4].as_u64().unwrap())
        .sum();
    let coarse_trades: u64 = extras.iter().map(|e| e[4].as_u64().unwrap()).sum();
    assert_eq!(coarse_trades, fine_trades);

    // `since` keeps the coarse windows starting at or after it.
    let since = want[1][0].as_i64().unwrap();
    let later = replay.get(&format!("/api/footprint?tf=300&since={since}"));
    assert_footprints_close(&later, &json!(want.as_array().unwrap()[1..]));

    // A timeframe that is not a multiple of the run's window is refused with a message.
    for path in [
        "/api/footprint?tf=90",
        "/api/bar_extras?tf=90",
        "/api/footprint?tf=5m",
    ] {
        let raw = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            replay.address
        );
        let (code, body) = exchange(replay.address, raw.as_bytes());
        assert_eq!(code, 400, "{path}: {body}");
        assert!(body.contains("`tf`"), "{path}: {body}");
    }
}
