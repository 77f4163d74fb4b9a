//! Tick and volume bars (`run --tick-bars N`, `--volume-bars V`): after seeks both ways,
//! `/api/trade_bars` holds the bars a plain reading of the recordings' trades before the
//! instant gives (the in-range trades in order, cut every N trades or where the volume
//! reaches V, sums in that order).

use std::path::Path;

use serde_json::{Value, json};

use super::{END_MS, Replay, START_MS, recordings};

/// `(ts, price, size, is_buy)` of the trades in `[START, END)`, in event order.
fn trades(data: &Path) -> Vec<(i64, f64, f64, bool)> {
    let mut files: Vec<_> = std::fs::read_dir(data)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let conn = rusqlite::Connection::open(&file).unwrap();
        let mut query = conn
            .prepare(
                "SELECT timestamp, price, size, side FROM trades \
                 WHERE timestamp >= ?1 AND timestamp < ?2 ORDER BY timestamp, id",
            )
            .unwrap();
        let rows = query
            .query_map([START_MS, END_MS], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get::<_, String>(3)? == "buy",
                ))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// The bars of `trades`: a bar ends at its `n`-th trade, or once its volume reaches `v`.
fn model(trades: &[(i64, f64, f64, bool)], n: Option<usize>, v: Option<f64>) -> Vec<Value> {
    let mut groups: Vec<Vec<(i64, f64, f64, bool)>> = vec![Vec::new()];
    for &trade in trades {
        let current = groups.last_mut().unwrap();
        current.push(trade);
        let volume = current.iter().fold(0.0, |sum, t| sum + t.2);
        if n.is_some_and(|n| current.len() == n) || v.is_some_and(|v| volume >= v) {
            groups.push(Vec::new());
        }
    }
    groups
        .into_iter()
        .filter(|group| !group.is_empty())
        .map(|group| {
            let sum = |keep: fn(&bool) -> bool| {
                group
                    .iter()
                    .filter(|t| keep(&t.3))
                    .fold(0.0, |sum, t| sum + t.2)
            };
            let prices = group.iter().map(|t| t.1);
            json!([
                group[0].0,
                group[group.len() - 1].0,
                group[0].1,
                prices.clone().fold(f64::MIN, f64::max),
                prices.fold(f64::MAX, f64::min),
                group[group.len() - 1].1,
                sum(|_| true),
                sum(|buy| *buy),
                sum(|buy| !*buy),
                group.len()
            ])
        })
        .collect()
}

#[test]
fn after_seeks_the_tick_and_volume_bars_are_those_of_the_trades_before_the_instant() {
    let data = recordings();
    let all = trades(data.path());
    assert!(all.len() > 500, "{} trades", all.len());
    for (flag, value, n, v) in [
        ("--tick-bars", "7", Some(7), None),
        ("--volume-bars", "0.05", None, Some(0.05)),
    ] {
        let replay = Replay::start(data.path(), &["--paused", flag, value]);
        for to in [
            END_MS,
            START_MS + 250_123,
            START_MS + 30_000,
            START_MS + 419_999,
            START_MS + 95_001,
            END_MS,
        ] {
            replay.seek(to);
            let before: Vec<_> = all.iter().copied().filter(|t| t.0 < to).collect();
            let want = model(&before, n, v);
            let got = replay.get("/api/trade_bars");
            assert_eq!(got["count"], want.len(), "{flag} {value}, seek to {to}");
            assert_eq!(got["first"], 0);
            assert_eq!(
                got["bars"].as_array().unwrap(),
                &want,
                "{flag} {value}, seek to {to}"
            );
            let size = match n {
                Some(n) => json!({ "trades": n }),
                None => json!({ "volume": v }),
            };
            assert_eq!(got["size"], size);
            // From a bar on: the tail; from beyond the last: the last.
            let tail = replay.get("/api/trade_bars?from=5");
            let from = 5.min(want.len() - 1);
            assert_eq!(tail["first"], from);
            assert_eq!(tail["bars"].as_array().unwrap(), &want[from..]);
            let last = replay.get("/api/trade_bars?from=999999");
            assert_eq!(last["first"], want.len() - 1);
            assert_eq!(last["bars"].as_array().unwrap(), &want[want.len() - 1..]);
        }
    }
}

#[test]
fn a_run_without_tick_or_volume_bars_has_none_and_the_options_are_checked() {
    let data = recordings();
    let replay = Replay::start(data.path(), &["--paused"]);
    replay.seek(END_MS);
    assert_eq!(
        replay.get("/api/trade_bars"),
        json!({ "size": null, "count": 0, "first": 0, "bars": [] })
    );
    for bad in [
        ["--tick-bars", "0"],
        ["--volume-bars", "0"],
        ["--volume-bars", "-1"],
        ["--volume-bars", "nan"],
    ] {
        let out = crate::common::orderflow(&[
            "run",
            "BTC-USDT",
            "2025-01-15",
            "--data-dir",
            data.path().to_str().unwrap(),
            bad[0],
            bad[1],
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
    }
}
