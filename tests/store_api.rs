//! The store read back: `serve --store` answers the API with the stored values (equal to the
//! run's JSON files), and `orderflow signals` recomputes exactly the signals found live.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::Value;

use crate::common::{listening_address, orderflow, process, replay_command};

fn synthetic(dir: &Path) {
    let mut config = orderflow::synth::SynthConfig::new(dir);
    config.hours = 1.0;
    config.book_interval_ms = 1000;
    config.trades_per_minute = 300.0;
    config.snapshot_levels = 20;
    orderflow::synth::generate(&config, None).unwrap();
}

fn get(address: SocketAddr, target: &str) -> Value {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    // The body may be chunked: take the JSON between the first `[`/`{` and the last `]`/`}`.
    let start = body.find(['[', '{']).unwrap();
    let end = body.rfind([']', '}']).unwrap();
    serde_json::from_str(&body[start..=end]).unwrap()
}

fn signals_of(store: &Path) -> Vec<String> {
    let db = Connection::open(store).unwrap();
    let mut stmt = db
        .prepare("SELECT ts, name, price, value, detail FROM signals ORDER BY ts, name, price")
        .unwrap();
    stmt.query_map([], |row| {
        Ok(format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            row.get_ref(0)?,
            row.get_ref(1)?,
            row.get_ref(2)?,
            row.get_ref(3)?,
            row.get_ref(4)?
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn serve_store_answers_with_the_stored_values_and_signals_recomputes_the_same() {
    let data = tempfile::tempdir().unwrap();
    synthetic(data.path());
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store.db");
    let store_arg = store.to_str().unwrap();
    let run = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &["--store", store_arg, "--big-print", "0.05"],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let live = signals_of(&store);
    assert!(!live.is_empty());

    // The same signals computed again on the stored bars, in one pass.
    let again = orderflow(&["signals", "--store", store_arg, "--big-print", "0.05"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        signals_of(&store),
        live,
        "recomputed signals equal those found live"
    );
    // Other options: fewer big prints.
    let fewer = orderflow(&["signals", "--store", store_arg, "--big-print", "0.1"]);
    assert!(fewer.status.success());
    assert!(signals_of(&store).len() < live.len());

    let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args([
            "serve",
            "--port",
            "0",
            "--store",
            store_arg,
            "--instrument",
            "BTC-USDT",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let bars = get(address, "/api/bars");
    let metrics = get(address, "/api/metrics");
    let footprint = get(address, "/api/footprint");
    let signals = get(address, "/api/signals");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        bars,
        run.json("ohlc_data.json"),
        "bars from the store equal the run's"
    );
    assert_eq!(metrics, run.json("metrics_data.json"));
    assert_eq!(footprint, run.json("footprint_data.json"));
    assert_eq!(signals.as_array().unwrap().len(), signals_of(&store).len());
}

/// `run` finds its signals in a store in memory that forgets each bar's footprint once the
/// bar's signals are computed: they equal those of `process --store`, whose store keeps every
/// footprint row, stacked imbalances included; after seeks back and forth, those of the bars
/// closed where the replay stands.
#[test]
fn run_finds_the_signals_of_a_store_that_keeps_every_footprint() {
    let data = tempfile::tempdir().unwrap();
    synthetic(data.path());
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store.db");
    let options = ["--big-print", "0.05"];
    let mut with_store = options.to_vec();
    with_store.extend(["--store", store.to_str().unwrap()]);
    let kept = process(
        data.path(),
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        &with_store,
    );
    assert_eq!(kept.code(), 0, "{}", kept.stderr());
    let db = Connection::open(&store).unwrap();
    let mut stored: Vec<(i64, String, Option<f64>)> = db
        .prepare("SELECT ts, name, value FROM signals")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    type Found = (i64, String, Option<f64>);
    let in_order = |a: &Found, b: &Found| {
        let value = |x: &Found| x.2.unwrap_or(f64::NEG_INFINITY);
        (a.0, &a.1)
            .cmp(&(b.0, &b.1))
            .then(value(a).total_cmp(&value(b)))
    };
    stored.sort_by(in_order);
    assert!(
        stored
            .iter()
            .any(|(_, name, _)| name.starts_with("stacked_imbalance")),
        "the recording gives stacked imbalances: {stored:?}"
    );

    let json_dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        "BTC-USDT",
        "2025-01-15",
        "2025-01-15",
        "--port",
        "0",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--json-dir",
        json_dir.path().to_str().unwrap(),
        "--no-heatmap",
        "--paused",
        // Checkpoints, and the read-ahead's hand-overs of its prints, every 300 events.
        "--checkpoint-events",
        "300",
        // Closed prints handed on between frames as soon as there are 40.
        "--prints-between-frames",
        "40",
    ];
    args.extend(options);
    let child = crate::reliability::child::Child::spawn(&args);
    let address =
        listening_address(&child.wait_for_line("listening on http://", Duration::from_secs(60)));
    // Paused at START: seeks to the end, back to the middle and to the end again (a state
    // read ahead); each time the signals are those of the bars closed there.
    let signals_now = |want: usize| {
        let mut found = Vec::new();
        for _ in 0..200 {
            let mut list: Vec<Found> = get(address, "/api/signals")
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["ts"].as_i64().unwrap(),
                        s["name"].as_str().unwrap().to_owned(),
                        s["value"].as_f64(),
                    )
                })
                .collect();
            list.sort_by(in_order);
            found = list;
            if found.len() == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        found
    };
    let end = 1_736_899_200_000 + 3_600_000 + 1;
    let middle = 1_736_899_200_000 + 1_800_000;
    let before_middle: Vec<Found> = stored
        .iter()
        .filter(|s| s.0 < middle - 60_000)
        .cloned()
        .collect();
    for (to, want) in [(end, &stored), (middle, &before_middle), (end, &stored)] {
        let status = replay_command(address, &format!(r#"{{"action":"seek","to":{to}}}"#));
        assert_eq!(status["position"], to, "{status}");
        assert_eq!(&signals_now(want.len()), want, "after a seek to {to}");
    }
}
