//! Trades at price (SPEC 6): footprints against plain SQL over `trades` on real and generated
//! recordings, rows adding up to the bars, and prints of a hand-made fixture through the
//! whole run (`--jobs 1/2/3`) and the API.

use std::path::Path;

use orderflow::engine::{FootprintBar, ProcessorConfig};
use orderflow::output::live::{LiveFeed, Status};
use orderflow::replay::{self, Job, Speed};
use serde_json::{Value, json};

use crate::common::{Fixture, orderflow, process};

/// 2025-01-15T00:00:00Z in ms.
const DAY: i64 = 1_736_899_200_000;

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// `(window, price, buy, sell)` per window and price, by plain SQL over `trades` in `[start, end)`.
fn footprint_by_sql(db: &Path, start: i64, end: i64, window_ms: i64) -> Vec<[f64; 4]> {
    let db = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let sql = format!(
        "SELECT timestamp / {window_ms} * {window_ms} AS w, price,
                total(CASE WHEN lower(side) = 'buy' THEN size END),
                total(CASE WHEN lower(side) = 'sell' THEN size END)
         FROM trades WHERE timestamp >= {start} AND timestamp < {end}
         GROUP BY w, price ORDER BY w, price"
    );
    let mut statement = db.prepare(&sql).unwrap();
    statement
        .query_map([], |row| {
            Ok([
                row.get::<_, i64>(0)? as f64,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
            ])
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `footprint_data.json` flattened to `(window, price, buy, sell)` rows.
fn footprint_rows(file: &Value) -> Vec<[f64; 4]> {
    let mut rows = Vec::new();
    for bar in file.as_array().unwrap() {
        let ts = bar[0].as_i64().unwrap() as f64;
        let mut last_price = f64::NEG_INFINITY;
        for row in bar[1].as_array().unwrap() {
            let [price, buy, sell] = [0, 1, 2].map(|i| row[i].as_f64().unwrap());
            assert!(price > last_price, "rows by price ascending in {bar}");
            last_price = price;
            rows.push([ts, price, buy, sell]);
        }
    }
    rows
}

/// Runs `process` over `data` and checks `footprint_data.json` against SQL over `db`, and
/// that each bar's rows add up to its volume in `ohlc_data.json`.
#[track_caller]
fn check_footprint(data: &Path, db: &Path, instrument: &str, day: &str, start: i64, end: i64) {
    for window in ["60", "7"] {
        let run = process(data, instrument, day, day, &["--window-seconds", window]);
        assert_eq!(run.code(), 0, "{}", run.stderr());
        let window_ms = window.parse::<i64>().unwrap() * 1000;
        let expected = footprint_by_sql(db, start, end, window_ms);
        assert!(expected.len() > 100, "{} rows", expected.len());
        let file = run.json("footprint_data.json");
        let bars = file.as_array().unwrap();
        // The file holds the newest 1000 bars: compare from its first window on.
        let from = bars[0][0].as_f64().unwrap();
        let expected: Vec<_> = expected.into_iter().filter(|r| r[0] >= from).collect();
        let got = footprint_rows(&file);
        assert_eq!(got.len(), expected.len(), "{window} s: rows");
        for (got, sql) in got.iter().zip(&expected) {
            assert_eq!(got[..2], sql[..2], "{window} s: window and exact price");
            assert!(
                close_to(got[2], sql[2]) && close_to(got[3], sql[3]),
                "{window} s: {got:?} vs SQL {sql:?}"
            );
        }
        let ohlc = run.json("ohlc_data.json");
        let ohlc = ohlc.as_array().unwrap();
        assert_eq!(ohlc.len(), bars.len(), "one footprint per bar");
        for (bar, footprint) in ohlc.iter().zip(bars) {
            assert_eq!(bar[0], footprint[0]);
            let rows = footprint[1].as_array().unwrap();
            let sum: f64 = rows
                .iter()
                .map(|r| r[1].as_f64().unwrap() + r[2].as_f64().unwrap())
                .sum();
            assert!(close_to(sum, bar[5].as_f64().unwrap()), "{bar} vs {sum}");
        }
    }
}

#[test]
fn footprint_of_the_real_recordings_equals_sql() {
    for market in ["spot", "usdm"] {
        let data = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/binance")
            .join(market);
        let db = data.join(format!("binance-{market}-BTCUSDT-2024-08-08.db"));
        let (start, end) = (1_723_075_200_000, 1_723_161_600_000);
        check_footprint(&data, &db, "BTCUSDT", "2024-08-08", start, end);
    }
}

#[test]
fn footprint_of_a_generated_recording_equals_sql() {
    let data = tempfile::tempdir().unwrap();
    let out = data.path().to_str().unwrap();
    let synth = orderflow(&["synth", "--out", out, "--hours", "0.3", "--seed", "7"]);
    assert!(synth.status.success(), "{:?}", synth);
    let db = data.path().join("BTC-USDT-2025-01-15.db");
    check_footprint(
        data.path(),
        &db,
        "BTC-USDT",
        "2025-01-15",
        DAY,
        DAY + 86_400_000,
    );
}

fn job(data: &Path, jobs: usize) -> Job {
    Job {
        instrument: "BTC-USDT".to_owned(),
        data_dir: data.to_owned(),
        config: ProcessorConfig {
            window_ms: 60_000,
            depth_levels: 5,
            obi_levels: None,
            start: DAY,
            end: DAY + 86_400_000,
        },
        emit_every: std::time::Duration::ZERO,
        speed: Speed::Max,
        json_dir: None,
        progress: false,
        jobs,
        follow: false,
        heatmap_ms: None,
        trade_bars: None,
    }
}

fn run_live(data: &Path, jobs: usize) -> LiveFeed {
    let feed = LiveFeed::new(Status::default());
    let cancel = std::sync::atomic::AtomicBool::new(false);
    replay::run(&job(data, jobs), Some(&feed), &cancel).unwrap();
    feed
}

/// Two overlapping files: same-ms runs, side changes, trades stored out of id order, and a
/// book row (the second file's snapshot) between two buys of the same ms.
fn prints_fixture() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let snapshot = r#"[["99","1"]]"#;
    let asks = r#"[["103","1"]]"#;
    let t = DAY + 60_000;
    let first = Fixture::new("BTC-USDT-2025-01-15.db")
        .standard()
        .book(1, DAY + 1_000, "snapshot", snapshot, asks)
        .book(2, t + 1, "update", r#"[["98","2"]]"#, "")
        .trade(1, t, 100.0, 1.0, "buy")
        .trade(2, t, 101.0, 3.0, "buy")
        .trade(3, t, 100.5, 2.0, "sell")
        .trade(4, t, 100.0, 1.0, "buy")
        .trade(5, t + 1, 100.0, 1.0, "buy")
        .trade(6, t, 99.5, 0.25, "sell")
        .trade(7, t + 30_000, 102.0, 0.5, "buy")
        .trade(8, t + 30_000, 104.0, 0.5, "buy")
        .done();
    let second = Fixture::new("BTC-USDT-2025-01-15.db")
        .standard()
        .book(1, t + 30_000, "snapshot", snapshot, asks)
        .trade(1, t + 30_000, 102.0, 1.5, "buy")
        .done();
    for (name, fixture) in [("a", &first), ("b", &second)] {
        std::fs::create_dir(data.path().join(name)).unwrap();
        std::fs::copy(
            &fixture.path,
            data.path().join(name).join("BTC-USDT-2025-01-15.db"),
        )
        .unwrap();
    }
    data
}

#[test]
fn prints_of_a_hand_made_fixture() {
    let data = prints_fixture();
    let t = DAY + 60_000;
    let expected = json!([
        [t, "buy", 100.75, 4.0, 2],
        [t, "sell", 100.5, 2.0, 1],
        [t, "buy", 100.0, 1.0, 1],
        // Trade 6 has a later id than 1-4 at the same ms: it comes after them.
        [t, "sell", 99.5, 0.25, 1],
        // The update at t + 1 goes first (book first on ties); it ends nothing.
        [t + 1, "buy", 100.0, 1.0, 1],
        [t + 30_000, "buy", 103.0, 1.0, 2],
        // The second file's snapshot comes between: a print of its own.
        [t + 30_000, "buy", 102.0, 1.5, 1]
    ]);
    for jobs in [1, 2, 3] {
        let feed = run_live(data.path(), jobs);
        let local: std::net::SocketAddr = "127.0.0.1:8050".parse().unwrap();
        let (all, big) = get_prints(&feed, local);
        assert_eq!(all, expected, "--jobs {jobs}");
        let big_expected: Vec<&Value> = expected
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p[3].as_f64().unwrap() >= 1.5 && p[0].as_i64().unwrap() > t)
            .collect();
        assert_eq!(
            big.as_array().unwrap().iter().collect::<Vec<_>>(),
            big_expected
        );
        // The bar extras: per window, buys and sells of the fixture.
        let extras = feed.footprints_since(None);
        let sums: Vec<(i64, f64, f64, u64)> = extras
            .iter()
            .map(|f: &FootprintBar| (f.ts, f.buy_volume, f.sell_volume, f.trades))
            .collect();
        assert_eq!(sums, vec![(t, 8.5, 2.25, 9)], "--jobs {jobs}");
        assert_eq!(extras[0].delta(), 6.25);
        // POC: 100.0 has 3.0 (1 + 1 + 1), 101 has 3.0 too: the lower price wins.
        assert_eq!(extras[0].poc().unwrap().price, 100.0);
    }
}

/// `/api/prints` and `/api/prints?min_size=1.5&since=T+1` from the router.
fn get_prints(feed: &LiveFeed, local: std::net::SocketAddr) -> (Value, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = |uri: String| {
        let request = axum::http::Request::builder()
            .uri(uri)
            .header("host", "127.0.0.1:8050")
            .body(axum::body::Body::empty())
            .unwrap();
        let app = orderflow::web::router(feed.clone(), local);
        runtime.block_on(async move {
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&body).unwrap()
        })
    };
    (
        get("/api/prints".to_owned()),
        get(format!("/api/prints?min_size=1.5&since={}", DAY + 60_001)),
    )
}

/// The push stream's `update` carries the footprints, their extras and the numbered prints;
/// its `snapshot` every footprint.
#[test]
fn the_push_stream_carries_footprints_and_prints() {
    let data = prints_fixture();
    let feed = run_live(data.path(), 1);
    let snapshot: Value =
        serde_json::from_str(&orderflow::web::json::snapshot(&feed.snapshot())).unwrap();
    let t = DAY + 60_000;
    assert_eq!(snapshot["footprints"][0][0], json!(t));
    assert_eq!(
        snapshot["footprints"][0][1][1],
        json!([100.0, 3.0, 0.0]),
        "the row at 100: three buys of 1"
    );
    assert_eq!(snapshot["extras"], json!([[t, 8.5, 2.25, 6.25, 9]]));
    let mut bar = FootprintBar::new(t);
    bar.add(100.0, 1.0, orderflow::engine::Side::Sell);
    let update = orderflow::output::live::Update {
        footprints: vec![bar],
        prints: orderflow::engine::PrintChanges {
            first: 7,
            prints: std::sync::Arc::new(vec![orderflow::engine::Print {
                ts: t + 5,
                side: orderflow::engine::Side::Sell,
                vwap: 100.0,
                size: 1.0,
                trades: 1,
            }]),
        },
        ..Default::default()
    };
    let message: Value = serde_json::from_str(&orderflow::web::json::update(9, &update)).unwrap();
    assert_eq!(message["footprints"], json!([[t, [[100.0, 0.0, 1.0]]]]));
    assert_eq!(message["extras"], json!([[t, 0.0, 1.0, -1.0, 1]]));
    assert_eq!(
        message["prints"],
        json!({"first": 7, "rows": [[t + 5, "sell", 100.0, 1.0, 1]]})
    );
}

/// `serve` reads footprint_data.json beside the seed's files into `/api/footprint` and
/// `/api/bar_extras`.
#[test]
fn serve_reads_the_footprint_file() {
    let data = prints_fixture();
    let run = process(data.path(), "BTC-USDT", "2025-01-15", "2025-01-15", &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let feed = LiveFeed::new(Status::default());
    let mut dir = orderflow::web::json_dir::JsonDir::new(run.json_dir.path(), feed.clone());
    assert!(dir.poll());
    let bars = feed.footprints_since(None);
    let file = run.json("footprint_data.json");
    let served: Vec<Value> = bars
        .iter()
        .map(|bar| {
            let rows: Vec<Value> = bar
                .rows
                .iter()
                .map(|r| json!([r.price, r.buy, r.sell]))
                .collect();
            json!([bar.ts, rows])
        })
        .collect();
    assert_eq!(Value::Array(served), file);
    assert_eq!((bars[0].buy_volume, bars[0].sell_volume), (8.5, 2.25));
}
